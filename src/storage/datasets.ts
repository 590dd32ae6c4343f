/**
 * Datasets in IndexedDB: metadata in `datasets`, records in chunks in `datasetChunks`.
 * Saving and deleting are single transactions (all or nothing: a failed save leaves what was
 * stored before untouched); quota errors become StorageQuotaError with advice (./quota.ts).
 * Export writes the JSONL that TRL and mlx-lm read: {"messages": [...]} or {"text": ...} rows.
 */
import type { DatasetMeta, DatasetRecord, Split } from '../schema/dataset.ts';
import type { ImportResult } from '../data/import.ts';
import { toJsonlRow } from '../data/records.ts';
import type { AppDatabase, RecordChunk } from './db.ts';
import { StorageQuotaError, storageFailure } from './quota.ts';

export const CHUNK_SIZE = 512;
/** Problems kept in the metadata (the count is always complete). */
export const STORED_PROBLEMS = 1000;

export { StorageQuotaError };

/** Turns a storage failure into an error that says what happened and what to do. */
export function describeStorageError(err: unknown, what: string): Error {
  return storageFailure(err, what, 'datasets already saved are intact', 'or import a smaller dataset');
}

function chunkRange(id: string): IDBKeyRange {
  return IDBKeyRange.bound([id, 0], [id, Number.MAX_SAFE_INTEGER]);
}

function newId(): string {
  return globalThis.crypto.randomUUID();
}

/** Metadata for an import result (the records are stored separately, in chunks). */
export function metaFromImport(name: string, result: ImportResult, id = newId(), now = new Date()): DatasetMeta {
  const stamp = now.toISOString();
  return {
    id,
    name,
    createdAt: stamp,
    updatedAt: stamp,
    format: result.format,
    kind: result.kind,
    presplit: result.presplit,
    sources: result.sources,
    counts: result.counts,
    settings: result.settings,
    tokens: result.tokens,
    problems: result.problems.slice(0, STORED_PROBLEMS),
    chunkSize: CHUNK_SIZE,
    chunkCount: Math.ceil(result.records.length / CHUNK_SIZE),
  };
}

/**
 * Runs `fill` in one read-write transaction over both stores; any error (a request failing, a
 * value that cannot be stored, the quota) aborts the whole transaction. `fill` passes every
 * request promise to `track` so none is left unhandled when the transaction aborts.
 */
async function atomically(
  db: AppDatabase,
  what: string,
  fill: (tx: ReturnType<typeof writeTx>, track: (p: Promise<unknown>) => void) => void,
): Promise<void> {
  const tx = writeTx(db);
  const pending: Promise<unknown>[] = [];
  const track = (p: Promise<unknown>) => {
    p.catch(() => undefined);
    pending.push(p);
  };
  track(tx.done);
  try {
    fill(tx, track);
    await Promise.all(pending);
  } catch (err) {
    try {
      tx.abort();
    } catch {
      // already aborted or finished
    }
    throw describeStorageError(err, what);
  }
}

function writeTx(db: AppDatabase) {
  return db.transaction(['datasets', 'datasetChunks'], 'readwrite');
}

/** Saves an imported dataset; returns its metadata. */
export async function saveDataset(db: AppDatabase, name: string, result: ImportResult): Promise<DatasetMeta> {
  const trimmed = name.trim();
  if (!trimmed) throw new Error('A dataset needs a name.');
  const meta = metaFromImport(trimmed, result);
  await atomically(db, `save the dataset "${trimmed}"`, (tx, track) => {
    track(tx.objectStore('datasets').put(meta));
    const chunks = tx.objectStore('datasetChunks');
    for (let i = 0; i < meta.chunkCount; i++) {
      const chunk: RecordChunk = {
        datasetId: meta.id,
        index: i,
        records: result.records.slice(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE),
      };
      track(chunks.put(chunk));
    }
  });
  return meta;
}

/** All datasets, most recently changed first. */
export async function listDatasets(db: AppDatabase): Promise<DatasetMeta[]> {
  const all = await db.getAllFromIndex('datasets', 'byUpdated');
  return all.reverse();
}

export async function getDataset(db: AppDatabase, id: string): Promise<DatasetMeta | undefined> {
  return db.get('datasets', id);
}

export async function renameDataset(db: AppDatabase, id: string, name: string): Promise<DatasetMeta> {
  const trimmed = name.trim();
  if (!trimmed) throw new Error('A dataset needs a name.');
  const tx = db.transaction('datasets', 'readwrite');
  const meta = await tx.store.get(id);
  if (!meta) {
    tx.abort();
    await tx.done.catch(() => undefined);
    throw new Error(`No dataset with id ${id}.`);
  }
  const renamed = { ...meta, name: trimmed, updatedAt: new Date().toISOString() };
  await Promise.all([tx.store.put(renamed), tx.done]);
  return renamed;
}

/** Deletes a dataset's metadata and all its chunks in one transaction. */
export async function deleteDataset(db: AppDatabase, id: string): Promise<void> {
  await atomically(db, 'delete the dataset', (tx, track) => {
    track(tx.objectStore('datasets').delete(id));
    track(tx.objectStore('datasetChunks').delete(chunkRange(id)));
  });
}

/** Streams a dataset's records chunk by chunk, optionally one split only. */
export async function* readRecords(db: AppDatabase, id: string, split?: Split): AsyncGenerator<DatasetRecord> {
  const meta = await db.get('datasets', id);
  if (!meta) throw new Error(`No dataset with id ${id}.`);
  for (let i = 0; i < meta.chunkCount; i++) {
    const chunk = await db.get('datasetChunks', [id, i]);
    if (!chunk) throw new Error(`Dataset "${meta.name}" is missing chunk ${i + 1} of ${meta.chunkCount}.`);
    for (const r of chunk.records) if (!split || r.split === split) yield r;
  }
}

export async function loadRecords(db: AppDatabase, id: string, split?: Split): Promise<DatasetRecord[]> {
  const out: DatasetRecord[] = [];
  for await (const r of readRecords(db, id, split)) out.push(r);
  return out;
}

/** JSONL lines (without newlines) of a dataset or one split. */
export async function* exportJsonlLines(db: AppDatabase, id: string, split?: Split): AsyncGenerator<string> {
  for await (const r of readRecords(db, id, split)) yield toJsonlRow(r);
}

export async function exportJsonl(db: AppDatabase, id: string, split?: Split): Promise<string> {
  const lines: string[] = [];
  for await (const line of exportJsonlLines(db, id, split)) lines.push(line);
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** mlx-lm's layout: train.jsonl, valid.jsonl and (when not empty) test.jsonl. */
export async function exportSplitFiles(db: AppDatabase, id: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {
    'train.jsonl': await exportJsonl(db, id, 'train'),
    'valid.jsonl': await exportJsonl(db, id, 'valid'),
  };
  const test = await exportJsonl(db, id, 'test');
  if (test) files['test.jsonl'] = test;
  return files;
}
