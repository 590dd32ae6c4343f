/**
 * The datasets stored in this browser (IndexedDB): the list, rename, delete, and export as JSONL
 * (built in a worker, downloaded through an <a download>). Metadata only on this thread; records
 * are read by the worker.
 */
import type { DatasetMeta } from '../../schema/dataset.ts';
import { deleteDataset, listDatasets, renameDataset } from '../../storage/datasets.ts';
import { appDb } from '../app-db.ts';
import { createStore } from './store.ts';
import { describeError } from './text.ts';
import { DataWorker } from './worker-client.ts';

export type DatasetsState =
  { state: 'loading' } | { state: 'ready'; list: DatasetMeta[] } | { state: 'failed'; message: string };

export const datasetsStore = createStore<DatasetsState>({ state: 'loading' });

const db = appDb;

export async function refreshDatasets(): Promise<void> {
  try {
    const list = await listDatasets(await db());
    datasetsStore.set({ state: 'ready', list });
  } catch (err) {
    const raw = err instanceof Error ? err.message : String(err);
    datasetsStore.set({
      state: 'failed',
      message:
        `This browser did not let the page open its storage (${raw}). In a private window, or with site data blocked, ` +
        'datasets can be imported and exported but not kept: allow site data for this page, or use a normal window.',
    });
  }
}

/** Renames; resolves to an error message for the row, or null. */
export async function rename(id: string, name: string): Promise<string | null> {
  if (!name.trim()) return 'A dataset needs a name.';
  try {
    await renameDataset(await db(), id, name);
    await refreshDatasets();
    return null;
  } catch (err) {
    return describeError(err, 'renaming').message;
  }
}

export async function remove(id: string): Promise<string | null> {
  try {
    await deleteDataset(await db(), id);
    await refreshDatasets();
    return null;
  } catch (err) {
    return describeError(err, 'deleting').message;
  }
}

export function exportFileName(meta: Pick<DatasetMeta, 'name'>): string {
  const safe = meta.name.replace(/[\\/:*?"<>|\u0000-\u001f]+/g, '_').trim() || 'dataset';
  return `${safe}.jsonl`;
}

/** Builds the JSONL in a worker and hands it to the browser as a download. */
export async function exportDataset(meta: DatasetMeta): Promise<string | null> {
  const worker = new DataWorker();
  try {
    const { blob } = await worker.exportJsonl(meta.id);
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = exportFileName(meta);
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
    // Give the browser time to start reading the Blob before letting go of it.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    return null;
  } catch (err) {
    return describeError(err, 'exporting').message;
  } finally {
    worker.terminate();
  }
}
