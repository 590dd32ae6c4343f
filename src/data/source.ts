/** What reading one source (a file, or a set of problem folders) yields. */
import type { Container, Problem, SourceSummary } from '../schema/dataset.ts';
import { DecodeError } from './decode.ts';
import type { ParsedRecord } from './records.ts';
import { problem } from './records.ts';

export interface SourceResult {
  summary: SourceSummary;
  records: ParsedRecord[];
  problems: Problem[];
}

export function emptySummary(path: string, container: Container): SourceSummary {
  return { path, format: null, container, encoding: null, rows: 0, problems: 0, mapping: null, presplit: null };
}

/** A source that could not be read at all (empty, binary, undecodable). Other errors propagate. */
export function decodeFailure(path: string, container: Container, err: unknown): SourceResult {
  if (!(err instanceof DecodeError)) throw err;
  const problems = [problem(path, err.line, err.code, err.message)];
  return { records: [], problems, summary: { ...emptySummary(path, container), problems: 1 } };
}
