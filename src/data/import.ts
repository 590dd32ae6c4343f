/**
 * The importer: files in, records + per-line problems + statistics out.
 *
 *   importDataset(files, settings, { tokenizer, onProgress })
 *
 * `files` are ImportInputs (see inputs.ts): a browser drop, a webkitdirectory input, Node's
 * fs.openAsBlob or plain `{ path, bytes }` all work. Steps: plan sources (detect.ts) → read each
 * (JSON/JSONL streamed, CSV/TSV, Parquet, problem folders, raw text) → add the system prompt where
 * missing → remove exact duplicates → cut raw text into windows → (with a tokenizer) count tokens
 * and apply the over-length policy → seeded split unless pre-split.
 */
import {
  ASP_EXPERT_SYSTEM_PROMPT,
  ImportSettingsSchema,
  type DatasetRecord,
  type ImportCounts,
  type ImportSettings,
  type ImportSettingsInput,
  type Problem,
  type Provenance,
  type SourceFormat,
  type SourceSummary,
  type TokenStats,
} from '../schema/dataset.ts';
import { planSources, type Skipped, type SourcePlan } from './detect.ts';
import { isUnreadable, normalizePath, toImportFile, type ImportFile, type ImportInput } from './inputs.ts';
import { readJsonSource, type RowSourceOptions } from './json-source.ts';
import { readProblemFolders } from './problem-folders.ts';
import { readRawText } from './raw-text.ts';
import { finalize, problem, withSystemPrompt, type ParsedRecord } from './records.ts';
import type { RowFormat } from './rows.ts';
import { assignSplits, dedupe, type Duplicate } from './split.ts';
import { emptySummary, type SourceResult } from './source.ts';
import { readCsvSource } from './csv-source.ts';
import { readParquetSource } from './parquet-source.ts';
import { lengthPass, windowText } from './tokenize.ts';
import type { ModelTokenizer } from './tokenizer.ts';

export interface ImportProgress {
  phase: 'read' | 'tokenize' | 'split';
  /** Bytes read so far (read) or records processed (tokenize). */
  done: number;
  total: number;
  file?: string;
  /** Read phase: good rows read so far. */
  rows?: number;
  /** Read phase: files finished so far (skipped and unsupported ones count at once), of `filesTotal`. */
  filesDone?: number;
  filesTotal?: number;
}

export interface ImportOptions {
  /** The chosen model's tokenizer: enables token counts, exact windows and the over-length policy. */
  tokenizer?: ModelTokenizer | null;
  onProgress?: (progress: ImportProgress) => void;
}

export interface DroppedRow {
  source: Provenance;
  reason: string;
}

export interface ImportResult {
  records: DatasetRecord[];
  /** Every problem with file, line and reason; the good rows are in `records`. */
  problems: Problem[];
  skipped: Skipped[];
  sources: SourceSummary[];
  /** The detected format: one source format, 'mixed', or 'none' when nothing was read. */
  format: SourceFormat | 'mixed' | 'none';
  kind: 'chat' | 'text' | 'mixed';
  presplit: boolean;
  counts: ImportCounts;
  duplicates: Duplicate[];
  /** Rows removed by the over-length policy (first 1000). */
  dropped: DroppedRow[];
  tokens: TokenStats | null;
  /** How raw text was cut: by tokens (tokenizer), estimated (no tokenizer), or not at all. */
  windowing: 'tokens' | 'estimated' | null;
  warnings: string[];
  settings: ImportSettings;
  /** True when nothing was reported: every row of every file was imported. */
  complete: boolean;
  /** Why there is nothing to train on, when no record is left (null otherwise). */
  refusal: string | null;
}

const ROW_FORMATS = new Set<SourceFormat>(['chat', 'prompt_completion', 'alpaca', 'text', 'pairs']);

async function readPlan(
  plan: SourcePlan,
  settings: ImportSettings,
  onBytes: (path: string, n: number, rows: number) => void,
): Promise<SourceResult[]> {
  switch (plan.kind) {
    case 'problem_folders':
      return readProblemFolders(plan.files);
    case 'raw_text':
      return [await readRawText(plan.file)];
    case 'rows': {
      const forced = settings.format && ROW_FORMATS.has(settings.format) ? (settings.format as RowFormat) : null;
      const opts: RowSourceOptions = {
        format: forced,
        mapping:
          (Object.hasOwn(settings.mappings, plan.file.path) ? settings.mappings[plan.file.path] : undefined) ??
          settings.mapping ??
          null,
        presplit: plan.presplit,
        onBytes: (n, rows) => onBytes(plan.file.path, n, rows),
      };
      if (plan.container === 'csv' || plan.container === 'tsv') return [await readCsvSource(plan.file, opts)];
      if (plan.container === 'parquet') return [await readParquetSource(plan.file, opts)];
      return [await readJsonSource(plan.file, opts)];
    }
  }
}

/** An error from reading a file (it vanished, changed or may not be read), not from what it holds. */
function isReadError(err: unknown): boolean {
  if (typeof DOMException !== 'undefined' && err instanceof DOMException)
    return ['NotReadableError', 'NotFoundError', 'NotAllowedError', 'SecurityError', 'AbortError'].includes(err.name);
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code);
}

/** Reads a source; one whose file cannot be read is reported (the other sources are still read). */
async function readPlanOrReport(
  plan: SourcePlan,
  settings: ImportSettings,
  onBytes: (path: string, n: number, rows: number) => void,
): Promise<SourceResult[]> {
  try {
    return await readPlan(plan, settings, onBytes);
  } catch (err) {
    if (!isReadError(err)) throw err;
    const path = plan.kind === 'problem_folders' ? (plan.files[0]?.path ?? '') : plan.file.path;
    const container = plan.kind === 'rows' ? plan.container : plan.kind === 'raw_text' ? 'text' : 'folder';
    const why = err instanceof Error ? err.message : String(err);
    const summary = { ...emptySummary(path, container), problems: 1 };
    const reason = `the file could not be read (${why}); was it changed or removed while importing?`;
    return [{ records: [], problems: [problem(path, null, 'read_error', reason)], summary }];
  }
}

function systemPromptFor(format: SourceFormat | null, settings: ImportSettings): string {
  if (settings.systemPrompt !== undefined) return settings.systemPrompt;
  return format === 'problem_folders' ? ASP_EXPERT_SYSTEM_PROMPT : '';
}

/** The import report's note on system turns folded for a template that refuses them. */
export function systemFoldNote(n: number): string {
  return (
    `the model's chat template has no system role, so in ${n} conversation${n === 1 ? '' : 's'} the system message ` +
    `was folded into the first user turn (the system text, a blank line, then the user's text), the way Gemma 3's template does it`
  );
}

export async function importDataset(
  inputs: Iterable<ImportInput>,
  settingsInput: ImportSettingsInput = {},
  options: ImportOptions = {},
): Promise<ImportResult> {
  const settings = ImportSettingsSchema.parse(settingsInput);
  const tok = options.tokenizer ?? null;
  const all = [...inputs];
  const files: ImportFile[] = [];
  const unreadable: Skipped[] = [];
  for (const input of all) {
    if (isUnreadable(input)) unreadable.push({ path: normalizePath(input.path), reason: input.unreadable });
    else files.push(toImportFile(input));
  }
  const totalBytes = files.reduce((a, f) => a + f.size, 0);
  const planned = planSources(files, settings.format);
  planned.skipped.push(...unreadable);
  const problems: Problem[] = [...planned.problems];
  const sources: SourceSummary[] = [];
  const warnings: string[] = [];
  let parsed: ParsedRecord[] = [];
  let systemPromptAdded = 0;
  const planFiles = (plan: SourcePlan) => (plan.kind === 'problem_folders' ? plan.files : [plan.file]);
  const planBytes = (plan: SourcePlan) => planFiles(plan).reduce((a, f) => a + f.size, 0);
  // Skipped and unsupported files are done from the start, so bytes and files reach their totals.
  let doneBytes = totalBytes - planned.plans.reduce((a, p) => a + planBytes(p), 0);
  let filesDone = files.length - planned.plans.reduce((a, p) => a + planFiles(p).length, 0);
  const filesTotal = files.length;
  const report = (path: string, n: number, rows: number) =>
    options.onProgress?.({
      phase: 'read',
      done: doneBytes + n,
      total: totalBytes,
      file: path,
      rows: parsed.length + rows,
      filesDone,
      filesTotal,
    });

  for (const plan of planned.plans) {
    for (const result of await readPlanOrReport(plan, settings, report)) {
      sources.push(result.summary);
      for (const p of result.problems) problems.push(p);
      const system = systemPromptFor(result.summary.format, settings);
      for (const record of result.records) {
        if (record.kind === 'chat' && system) {
          const withSystem = withSystemPrompt(record, system);
          if (withSystem !== record) systemPromptAdded++;
          parsed.push(withSystem);
        } else parsed.push(record);
      }
    }
    doneBytes += planBytes(plan);
    filesDone += planFiles(plan).length;
    options.onProgress?.({
      phase: 'read',
      done: doneBytes,
      total: totalBytes,
      rows: parsed.length,
      filesDone,
      filesTotal,
    });
  }
  const rowsRead = parsed.length;

  const dup = settings.dedupe ? dedupe(parsed) : { unique: parsed, removed: 0, examples: [] };
  parsed = dup.unique;

  const hasRawText = parsed.some((r) => r.kind === 'text' && r.window);
  parsed = parsed.flatMap((r) => (r.kind === 'text' && r.window ? windowText(r, settings.maxLength, tok) : [r]));
  const windowing = hasRawText ? (tok ? 'tokens' : 'estimated') : null;
  if (windowing === 'estimated') {
    warnings.push(
      `raw text was cut into windows of about ${settings.maxLength} tokens estimated from characters; choose a model to cut by tokens`,
    );
  }

  let tokens: TokenStats | null = null;
  const dropped: DroppedRow[] = [];
  let noTrainedTokens = 0;
  let untrainable = 0;
  let droppedTooLong = 0;
  let truncated = 0;
  let systemFolded = 0;
  if (tok) {
    const { pass, failures } = lengthPass(tok, parsed, settings, (done, total) =>
      options.onProgress?.({ phase: 'tokenize', done, total }),
    );
    // Each problem names where the template came from (tokenizer_config.json or chat_template.jinja).
    const origin = tok.template?.origin ?? 'the chat template';
    for (const f of failures)
      problems.push(
        problem(
          f.record.source.file,
          f.record.source.line,
          'template_error',
          f.reason.includes(origin) ? `chat template: ${f.reason}` : `chat template (${origin}): ${f.reason}`,
        ),
      );
    for (const r of pass.droppedTooLong) {
      if (dropped.length < 1000) dropped.push({ source: r.source, reason: `longer than ${settings.maxLength} tokens` });
    }
    for (const r of pass.droppedNoTrained) {
      if (dropped.length < 1000)
        dropped.push({
          source: r.source,
          reason: `no answer token left after truncating to ${settings.maxLength} tokens`,
        });
    }
    for (const r of pass.untrainable)
      problems.push(problem(r.source.file, r.source.line, 'no_trained_tokens', NO_TRAINED_TOKEN_ROW));
    untrainable = pass.untrainable.length;
    droppedTooLong = pass.droppedTooLong.length;
    noTrainedTokens = pass.droppedNoTrained.length;
    truncated = pass.truncated;
    systemFolded = pass.systemFolded;
    if (systemFolded > 0) warnings.push(systemFoldNote(systemFolded));
    tokens = pass.stats;
    parsed = pass.kept;
  }

  options.onProgress?.({ phase: 'split', done: 0, total: parsed.length });
  const splits = assignSplits(parsed, settings.trainFraction, settings.testFraction, settings.seed);
  const records = parsed.map((r, i) => finalize(r, splits[i]!));
  const count = (s: string) => records.filter((r) => r.split === s).length;

  const formats = [...new Set(sources.filter((s) => s.rows > 0 && s.format).map((s) => s.format!))];
  const kinds = new Set(records.map((r) => r.kind));
  if (kinds.size > 1) warnings.push('the dataset mixes chat and text records; TRL and mlx-lm expect one kind per file');
  const presplit = sources.some((s) => s.presplit !== null && s.rows > 0);
  return {
    records,
    problems,
    skipped: planned.skipped,
    sources,
    format: formats.length === 0 ? 'none' : formats.length === 1 ? formats[0]! : 'mixed',
    kind: kinds.size > 1 ? 'mixed' : kinds.has('text') ? 'text' : 'chat',
    presplit,
    counts: {
      rowsRead,
      records: records.length,
      duplicates: dup.removed,
      problems: problems.length,
      droppedTooLong,
      truncated,
      noTrainedTokens,
      untrainable,
      systemPromptAdded,
      systemFolded,
      train: count('train'),
      valid: count('valid'),
      test: count('test'),
    },
    duplicates: dup.examples,
    dropped,
    tokens,
    windowing,
    warnings,
    settings,
    complete: problems.length === 0,
    refusal: records.length > 0 ? null : refusalOf(rowsRead, untrainable, tok?.template?.origin ?? null),
  };
}

const NO_TRAINED_TOKEN_ROW =
  "the chat template renders no answer for this row, so it has no token to train on (the model's template may be empty or leave out assistant messages)";

/** Why an import that read rows yields nothing to train on. */
function refusalOf(rowsRead: number, untrainable: number, templateOrigin: string | null): string {
  if (untrainable > 0)
    return (
      `none of the ${untrainable} rows has a token to train on: the model's chat template${templateOrigin ? ` (${templateOrigin})` : ''} renders no assistant answer ` +
      '(it is empty or leaves out assistant messages). Choose a model whose chat template writes the answers, or give the ' +
      'tokenizer a working chat_template'
    );
  if (rowsRead > 0) return 'every row was left out (see the problems and the rows dropped for their length)';
  return 'no row could be read from these files (see the problems and the skipped files)';
}
