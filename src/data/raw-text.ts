/**
 * Raw text (.txt / .md): one text record per file for plain causal-LM training. The record is
 * marked for windowing; tokenize.ts cuts it into windows of the maximum length.
 */
import { readText } from './decode.ts';
import type { ImportFile } from './inputs.ts';
import { problem, textRecord } from './records.ts';
import { decodeFailure, type SourceResult } from './source.ts';

export const RAW_TEXT_EXTENSIONS = new Set(['txt', 'md', 'markdown', 'rst', 'text']);

export async function readRawText(file: ImportFile): Promise<SourceResult> {
  let text: string;
  let encoding: string;
  try {
    ({ text, encoding } = await readText(file));
  } catch (err) {
    return decodeFailure(file.path, 'text', err);
  }
  const summary = {
    path: file.path,
    format: 'raw_text' as const,
    container: 'text' as const,
    encoding,
    rows: 0,
    problems: 0,
    mapping: null,
    presplit: null,
  };
  if (text.trim() === '') {
    return {
      records: [],
      problems: [problem(file.path, null, 'empty_file', 'empty file: no text')],
      summary: { ...summary, problems: 1 },
    };
  }
  return { records: [textRecord(text, file.path, 1, true)], problems: [], summary: { ...summary, rows: 1 } };
}
