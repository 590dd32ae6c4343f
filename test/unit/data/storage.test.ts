/**
 * IndexedDB storage through idb (fake-indexeddb in Node): save in chunks, list, rename, delete,
 * all-or-nothing saves, quota errors, and export → re-import giving identical records.
 */
import 'fake-indexeddb/auto';
import { describe, expect, test } from 'vitest';
import { importDataset, type ImportResult } from '../../../src/data/import.ts';
import { fileFromBytes } from '../../../src/data/inputs.ts';
import {
  CHUNK_SIZE,
  StorageQuotaError,
  deleteDataset,
  describeStorageError,
  exportJsonl,
  exportSplitFiles,
  getDataset,
  listDatasets,
  loadRecords,
  renameDataset,
  saveDataset,
} from '../../../src/storage/datasets.ts';
import { DB_VERSION, openAppDb } from '../../../src/storage/db.ts';
import type { DatasetRecord } from '../../../src/schema/dataset.ts';
import { importFixture, textFile } from './helpers.ts';

let dbCount = 0;
const freshDb = () => openAppDb(`test-db-${++dbCount}`);

async function bigImport(n: number): Promise<ImportResult> {
  const rows = Array.from({ length: n }, (_, i) => JSON.stringify({ prompt: `q${i}`, completion: `a${i}` })).join('\n');
  return importDataset([textFile('big.jsonl', rows)], { seed: 3 });
}

/** What must survive a round trip: content and split, not provenance (the file changes). */
const content = (records: DatasetRecord[]) =>
  records.map((r) => JSON.stringify([r.split, r.kind === 'chat' ? r.messages : r.text])).sort();

describe('datasets in IndexedDB', () => {
  test('the database is created with its stores at the current version', async () => {
    const db = await freshDb();
    expect(db.version).toBe(DB_VERSION);
    expect([...db.objectStoreNames].sort()).toEqual([
      'checkpoints',
      'datasetChunks',
      'datasets',
      'runMetrics',
      'runs',
      'settings',
    ]);
    db.close();
  });

  test('save in chunks, list, load, rename, delete', async () => {
    const db = await freshDb();
    const result = await bigImport(CHUNK_SIZE * 2 + 7);
    const meta = await saveDataset(db, '  Big set ', result);
    expect(meta).toMatchObject({ name: 'Big set', chunkCount: 3, format: 'prompt_completion', kind: 'chat' });
    expect(meta.counts).toEqual(result.counts);
    expect(await db.count('datasetChunks')).toBe(3);
    const second = await saveDataset(db, 'Small', await bigImport(3));

    expect((await listDatasets(db)).map((d) => d.name)).toEqual(['Small', 'Big set']);
    expect(await loadRecords(db, meta.id)).toEqual(result.records);
    expect((await loadRecords(db, meta.id, 'valid')).length).toBe(result.counts.valid);

    await new Promise((r) => setTimeout(r, 5));
    const renamed = await renameDataset(db, meta.id, 'Renamed');
    expect(renamed.name).toBe('Renamed');
    expect((await getDataset(db, meta.id))!.name).toBe('Renamed');
    expect((await listDatasets(db)).map((d) => d.name)).toEqual(['Renamed', 'Small']);
    await expect(renameDataset(db, 'nope', 'x')).rejects.toThrow(/No dataset/);
    await expect(renameDataset(db, meta.id, '   ')).rejects.toThrow(/needs a name/);

    await deleteDataset(db, meta.id);
    expect(await getDataset(db, meta.id)).toBeUndefined();
    expect(await db.count('datasetChunks')).toBe(1);
    expect((await listDatasets(db)).map((d) => d.id)).toEqual([second.id]);
    db.close();
  });

  test('a failed save stores nothing and leaves earlier datasets intact', async () => {
    const db = await freshDb();
    const kept = await saveDataset(db, 'Kept', await bigImport(4));
    const broken = await bigImport(CHUNK_SIZE + 1);
    // A value IndexedDB cannot store, in the second chunk: the first chunk and the metadata were already queued.
    (broken.records[CHUNK_SIZE] as unknown as { extra: unknown }).extra = () => 1;
    await expect(saveDataset(db, 'Broken', broken)).rejects.toThrow(/Could not save the dataset "Broken"/);
    expect((await listDatasets(db)).map((d) => d.name)).toEqual(['Kept']);
    expect(await db.count('datasetChunks')).toBe(kept.chunkCount);
    expect(await loadRecords(db, kept.id)).toHaveLength(4);
    db.close();
  });

  test('quota errors say what to do', () => {
    const err = describeStorageError(
      new DOMException('The quota has been exceeded.', 'QuotaExceededError'),
      'save the dataset "x"',
    );
    expect(err).toBeInstanceOf(StorageQuotaError);
    expect(err.message).toMatch(/Not enough browser storage to save the dataset "x"/);
    expect(err.message).toMatch(/Nothing was changed/);
    expect(err.message).toMatch(/deleting datasets or checkpoints/);
    expect(describeStorageError(new Error('disk on fire'), 'save')).not.toBeInstanceOf(StorageQuotaError);
  });
});

describe('export', () => {
  test('exported JSONL re-imports to identical records (chat, with system prompts and splits)', async () => {
    const db = await freshDb();
    for (const folder of ['personas', 'asp_benchmark', 'chatml_presplit', 'dot_pairs']) {
      const original = await importFixture(folder, { seed: 11 });
      const meta = await saveDataset(db, folder, original);
      const files = await exportSplitFiles(db, meta.id);
      expect(Object.keys(files).sort()).toEqual(['train.jsonl', 'valid.jsonl']);
      for (const line of files['train.jsonl']!.trim().split('\n')) {
        expect(Object.keys(JSON.parse(line) as object)).toEqual(['messages']);
      }
      const again = await importDataset(
        Object.entries(files).map(([name, text]) => fileFromBytes(`${folder}/${name}`, new TextEncoder().encode(text))),
      );
      expect(again.problems).toEqual([]);
      expect(again.presplit).toBe(true);
      expect(again.counts.systemPromptAdded).toBe(0);
      expect(content(again.records)).toEqual(content(original.records));
    }
    db.close();
  });

  test('text records export as {"text"} rows and re-import as the same text', async () => {
    const db = await freshDb();
    const original = await importFixture('chapters');
    const meta = await saveDataset(db, 'chapters', original);
    const all = await exportJsonl(db, meta.id);
    expect(
      all
        .trim()
        .split('\n')
        .map((l) => Object.keys(JSON.parse(l) as object)),
    ).toEqual([['text'], ['text'], ['text'], ['text']]);
    const again = await importDataset([textFile('all.jsonl', all)], { seed: 0 });
    expect(again.format).toBe('text');
    expect(again.records.map((r) => (r.kind === 'text' ? r.text : ''))).toEqual(
      original.records.map((r) => (r.kind === 'text' ? r.text : '')),
    );
    db.close();
  });
});
