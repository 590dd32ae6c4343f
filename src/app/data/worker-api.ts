/**
 * The Data page's worker (data.worker.ts exposes this through comlink). It runs the importer and
 * KEEPS the imported records here: the page receives a summary (counts, the first problems, a few
 * preview records), so a large dataset never crosses to the page's thread. Saving to IndexedDB and
 * exporting JSONL also run here, so the page never holds a dataset's records either.
 */
import { importDataset, type ImportProgress, type ImportResult } from '../../data/import.ts';
import type { WorkerInput } from '../../data/import-worker-api.ts';
import { loadTokenizer, type ModelTokenizer } from '../../data/tokenizer.ts';
import type { DatasetMeta, DatasetRecord, ImportSettingsInput, Problem } from '../../schema/dataset.ts';
import { exportJsonlLines, saveDataset } from '../../storage/datasets.ts';
import { openAppDb } from '../../storage/db.ts';
import { OpfsStore } from '../../storage/opfs-store.ts';

/** Where the tokenizer comes from: files picked from a model folder, or a model cached in OPFS. */
export type TokenizerSource =
  { kind: 'files'; label: string; files: Record<string, Blob> } | { kind: 'opfs'; label: string; dir: string };

/** Problems sent to the page (the count in `counts.problems` is always complete). */
export const SUMMARY_PROBLEMS = 500;
export const PREVIEW_RECORDS = 4;

export interface ImportSummary extends Omit<ImportResult, 'records' | 'problems'> {
  problems: Problem[];
  preview: DatasetRecord[];
}

export interface ExportedFile {
  blob: Blob;
  records: number;
}

/** One record from each source first (so every source shows), then the next ones in order. */
export function pickPreview(result: Pick<ImportResult, 'records' | 'sources'>, n = PREVIEW_RECORDS): DatasetRecord[] {
  const picked = new Set<DatasetRecord>();
  for (const s of result.sources) {
    if (picked.size >= n) break;
    const first = result.records.find((r) => r.source.file === s.path || r.source.file.startsWith(`${s.path}/`));
    if (first) picked.add(first);
  }
  for (const r of result.records) {
    if (picked.size >= n) break;
    picked.add(r);
  }
  return result.records.filter((r) => picked.has(r));
}

export function summarize(result: ImportResult): ImportSummary {
  const { records: _records, problems, ...rest } = result;
  return { ...rest, problems: problems.slice(0, SUMMARY_PROBLEMS), preview: pickPreview(result) };
}

async function tokenizerFrom(source: TokenizerSource): Promise<ModelTokenizer> {
  const read =
    source.kind === 'files'
      ? async (name: string) => (source.files[name] ? await source.files[name].text() : null)
      : async (name: string) => new OpfsStore().readText(`${source.dir}/${name}`);
  try {
    return await loadTokenizer(read);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(
      `The tokenizer of ${source.label} could not be loaded (${msg}). Choose another model folder, or import without token counts.`,
    );
  }
}

/** At most one call per `ms`; the last call of a phase always goes through. */
function throttle(fn: (p: ImportProgress) => void, ms: number): (p: ImportProgress) => void {
  let last = 0;
  let phase = '';
  return (p) => {
    const now = Date.now();
    if (p.phase !== phase || now - last >= ms || p.done >= p.total) {
      last = now;
      phase = p.phase;
      fn(p);
    }
  };
}

let kept: ImportResult | null = null;

export const dataWorkerApi = {
  /** Imports `inputs`; the records stay in this worker until save() or discard(). */
  async importFiles(
    inputs: WorkerInput[],
    settings: ImportSettingsInput,
    tokenizer: TokenizerSource | null,
    onProgress?: (progress: ImportProgress) => void,
  ): Promise<ImportSummary> {
    kept = null;
    const tok = tokenizer ? await tokenizerFrom(tokenizer) : null;
    kept = await importDataset(inputs, settings, {
      tokenizer: tok,
      onProgress: onProgress ? throttle(onProgress, 100) : undefined,
    });
    return summarize(kept);
  },

  /** Saves the kept import under `name` and lets go of its records. */
  async save(name: string): Promise<DatasetMeta> {
    if (!kept) throw new Error('There is no imported dataset to save: import it again.');
    const db = await openAppDb();
    try {
      const meta = await saveDataset(db, name, kept);
      kept = null;
      return meta;
    } finally {
      db.close();
    }
  },

  discard(): void {
    kept = null;
  },

  /** A stored dataset as one JSONL Blob, built chunk by chunk (no single giant string). */
  async exportJsonl(id: string): Promise<ExportedFile> {
    const db = await openAppDb();
    try {
      const parts: Blob[] = [];
      let lines: string[] = [];
      let records = 0;
      for await (const line of exportJsonlLines(db, id)) {
        lines.push(line, '\n');
        records++;
        if (lines.length >= 4096) {
          parts.push(new Blob(lines));
          lines = [];
        }
      }
      if (lines.length) parts.push(new Blob(lines));
      return { blob: new Blob(parts, { type: 'application/jsonl' }), records };
    } finally {
      db.close();
    }
  },
};

export type DataWorkerApi = typeof dataWorkerApi;
