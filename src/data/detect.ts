/**
 * Format detection, file level: which files are row sources (JSONL, JSON arrays, CSV/TSV,
 * Parquet), which form problem folders, which are raw text, which are pre-split
 * (train/valid/test), and which are skipped or unsupported. Row-level detection is in rows.ts.
 */
import type { Problem, SourceFormat, Split } from '../schema/dataset.ts';
import type { ImportFile } from './inputs.ts';
import { basename, dirname, extension } from './inputs.ts';
import { isProblemFile } from './problem-folders.ts';
import { RAW_TEXT_EXTENSIONS } from './raw-text.ts';
import { problem } from './records.ts';

export type RowContainer = 'jsonl' | 'json' | 'csv' | 'tsv' | 'parquet';

export type SourcePlan =
  | { kind: 'rows'; container: RowContainer; file: ImportFile; presplit: Split | null }
  | { kind: 'problem_folders'; files: ImportFile[] }
  | { kind: 'raw_text'; file: ImportFile };

export interface Skipped {
  path: string;
  reason: string;
}

export interface SourcePlanResult {
  plans: SourcePlan[];
  skipped: Skipped[];
  problems: Problem[];
}

const ROW_EXTENSIONS = new Map<string, RowContainer>([
  ['jsonl', 'jsonl'],
  ['ndjson', 'jsonl'],
  ['json', 'json'],
  ['csv', 'csv'],
  ['tsv', 'tsv'],
  ['tab', 'tsv'],
  ['parquet', 'parquet'],
]);

const SPLIT_NAMES = new Map<string, Split>([
  ['train', 'train'],
  ['valid', 'valid'],
  ['validation', 'valid'],
  ['val', 'valid'],
  ['dev', 'valid'],
  ['test', 'test'],
]);

/** train.jsonl, valid.jsonl, test.jsonl, validation.parquet, train-00000-of-00002.parquet, ... */
export function presplitOf(path: string): Split | null {
  const name = basename(path).toLowerCase();
  const stem = name.slice(0, name.length - extension(name).length - 1);
  const shard = /^(train|validation|valid|test)-\d{5}-of-\d{5}$/.exec(stem);
  if (shard) return SPLIT_NAMES.get(shard[1]!) ?? null;
  return SPLIT_NAMES.get(stem) ?? null;
}

function isJunk(path: string): boolean {
  const parts = path.split('/');
  const name = parts[parts.length - 1] ?? '';
  return parts.some((p) => p.startsWith('.') || p === '__MACOSX') || name === 'Thumbs.db' || name === 'desktop.ini';
}

const SPLIT_RANK: Record<Split, number> = { train: 0, valid: 1, test: 2 };

function sortKey(file: ImportFile): string {
  const split = presplitOf(file.path);
  return `${dirname(file.path)}\u0000${split ? SPLIT_RANK[split] : 3}\u0000${basename(file.path)}`;
}

/** Groups files into sources. `forced` is the user's format override, if any. */
export function planSources(files: ImportFile[], forced?: SourceFormat): SourcePlanResult {
  const sorted = [...files].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));
  const plans: SourcePlan[] = [];
  const skipped: Skipped[] = [];
  const problems: Problem[] = [];
  const problemFiles: ImportFile[] = [];
  const textFiles: ImportFile[] = [];
  const rawText = forced === 'raw_text';
  // Folders holding NL.txt / IR.txt / ASP.txt: their other files are not part of a problem.
  const problemDirs = new Set(
    rawText
      ? []
      : sorted
          .filter((f) => !isJunk(f.path) && isProblemFile(f.path))
          .map((f) => dirname(f.path))
          .filter((d) => d !== ''),
  );
  for (const file of sorted) {
    const ext = extension(file.path);
    const container = ROW_EXTENSIONS.get(ext);
    if (isJunk(file.path)) {
      skipped.push({ path: file.path, reason: 'hidden or system file' });
    } else if (!rawText && isProblemFile(file.path)) {
      problemFiles.push(file);
    } else if (problemDirs.has(dirname(file.path))) {
      skipped.push({
        path: file.path,
        reason: 'in a problem folder, but not one of its files (NL.txt or IR.txt, and ASP.txt): not read',
      });
    } else if (rawText && (RAW_TEXT_EXTENSIONS.has(ext) || (container !== undefined && container !== 'parquet'))) {
      textFiles.push(file);
    } else if (container !== undefined) {
      plans.push({ kind: 'rows', container, file, presplit: presplitOf(file.path) });
    } else if (RAW_TEXT_EXTENSIONS.has(ext)) {
      textFiles.push(file);
    } else {
      problems.push(
        problem(
          file.path,
          null,
          'unsupported_file',
          `unsupported file type${ext ? ` .${ext}` : ''}: expected .jsonl, .json, .csv, .tsv, .parquet, .txt or .md`,
        ),
      );
    }
  }
  if (problemFiles.length > 0) plans.unshift({ kind: 'problem_folders', files: problemFiles });
  const structured = plans.length > 0;
  for (const file of textFiles) {
    if (structured && !rawText) {
      skipped.push({
        path: file.path,
        reason: 'text file next to structured data (choose the raw_text format to train on it)',
      });
    } else {
      plans.push({ kind: 'raw_text', file });
    }
  }
  return { plans, skipped, problems };
}
