/**
 * Raw text (.txt / .md): one text record per file for plain causal-LM training. The record is
 * marked for windowing; tokenize.ts cuts it into windows of the maximum length. A line with bytes
 * that are not text (a NUL, bad UTF-8) is reported with its byte offset and left out (an empty line
 * takes its place, so the line numbers of the windows stay right); the rest of the file is kept.
 */
import { readText, type DecodedText } from './decode.ts';
import type { ImportFile } from './inputs.ts';
import { problem, textRecord } from './records.ts';
import { badLineProblem, decodeFailure, type SourceResult } from './source.ts';

export const RAW_TEXT_EXTENSIONS = new Set(['txt', 'md', 'markdown', 'rst', 'text']);

/** The text without its bad lines (each replaced by an empty line). */
export function withoutBadLines({ text, bad }: DecodedText): string {
  if (bad.length === 0) return text;
  const parts: string[] = [];
  let at = 0;
  for (const b of bad) {
    parts.push(text.slice(at, b.start));
    at = b.end;
  }
  parts.push(text.slice(at));
  return parts.join('');
}

export async function readRawText(file: ImportFile): Promise<SourceResult> {
  let decoded: DecodedText;
  try {
    decoded = await readText(file);
  } catch (err) {
    return decodeFailure(file.path, 'text', err);
  }
  const { encoding } = decoded;
  const text = withoutBadLines(decoded);
  const problems = decoded.bad.map((b) => badLineProblem(file.path, b.line, b.bad, encoding));
  const summary = {
    path: file.path,
    format: 'raw_text' as const,
    container: 'text' as const,
    encoding,
    rows: 0,
    problems: problems.length,
    mapping: null,
    presplit: null,
  };
  if (text.trim() === '') {
    if (problems.length === 0) problems.push(problem(file.path, null, 'empty_file', 'empty file: no text'));
    return { records: [], problems, summary: { ...summary, problems: problems.length } };
  }
  return { records: [textRecord(text, file.path, 1, true)], problems, summary: { ...summary, rows: 1 } };
}
