/** What reading one source (a file, or a set of problem folders) yields, and the problems every reader reports alike. */
import type { Container, Problem, SourceSummary } from '../schema/dataset.ts';
import { badBytesReason, DecodeError, readText, type BadBytes, type DecodedText } from './decode.ts';
import type { ImportFile } from './inputs.ts';
import type { ParsedRecord } from './records.ts';
import { problem } from './records.ts';
import type { TextEncodingName } from './sniff.ts';

export interface SourceResult {
  summary: SourceSummary;
  records: ParsedRecord[];
  problems: Problem[];
}

export function emptySummary(path: string, container: Container): SourceSummary {
  return { path, format: null, container, encoding: null, rows: 0, problems: 0, mapping: null, presplit: null };
}

/** A source that could not be read at all (empty or binary). Other errors propagate. */
export function decodeFailure(path: string, container: Container, err: unknown): SourceResult {
  if (!(err instanceof DecodeError)) throw err;
  const problems = [problem(path, null, err.code, err.message)];
  return { records: [], problems, summary: { ...emptySummary(path, container), problems: 1 } };
}

/** A line with bytes that are not text: its number, the byte offset of the first bad byte and what to do. */
export function badLineProblem(path: string, line: number, bad: BadBytes, encoding: TextEncodingName): Problem {
  return problem(path, line, bad.kind === 'nul' ? 'nul_byte' : 'encoding', badBytesReason(bad, encoding), bad.offset);
}

/** Decodes a whole file for a reader (progress as bytes read); an empty or binary file is its failure result. */
export async function decodeSource(
  file: ImportFile,
  container: Container,
  onBytes?: (bytesRead: number, rows: number) => void,
): Promise<DecodedText | SourceResult> {
  try {
    return await readText(file, onBytes && ((n) => onBytes(n, 0)));
  } catch (err) {
    return decodeFailure(file.path, container, err);
  }
}
