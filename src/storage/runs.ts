/**
 * Training runs in IndexedDB: the run's description and status (`runs`), its history of metrics (`runMetrics`, one
 * row per point so a long run never rewrites its history) and its checkpoints (./checkpoints.ts).
 */
import type { RunInfo, RunMetric } from '../worker/contract-runs.ts';
import { deleteRunCheckpoints } from './checkpoints.ts';
import type { AppDatabase } from './db.ts';
import { storageFailure } from './quota.ts';

export async function putRun(db: AppDatabase, run: RunInfo): Promise<void> {
  try {
    await db.put('runs', run);
  } catch (err) {
    throw storageFailure(err, 'save the run', 'its checkpoints are kept');
  }
}

export function getRun(db: AppDatabase, id: string): Promise<RunInfo | undefined> {
  return db.get('runs', id);
}

/** Newest first. */
export async function listRuns(db: AppDatabase): Promise<RunInfo[]> {
  return (await db.getAllFromIndex('runs', 'byCreated')).reverse();
}

function metricRange(runId: string): IDBKeyRange {
  return IDBKeyRange.bound([runId, -Infinity], [runId, Infinity]);
}

/** Appends one point to a run's history; returns its sequence number. */
export async function appendMetric(db: AppDatabase, runId: string, metric: RunMetric): Promise<number> {
  const tx = db.transaction('runMetrics', 'readwrite');
  const last = await tx.store.openCursor(metricRange(runId), 'prev');
  const seq = last ? last.value.seq + 1 : 0;
  await tx.store.put({ runId, seq, metric });
  await tx.done;
  return seq;
}

export async function runMetrics(db: AppDatabase, runId: string): Promise<RunMetric[]> {
  return (await db.getAll('runMetrics', metricRange(runId))).map((r) => r.metric);
}

/** Forgets the history after `step` (a resumed run recomputes it from the checkpoint at `step`). */
export async function trimMetricsAfter(db: AppDatabase, runId: string, step: number): Promise<void> {
  const tx = db.transaction('runMetrics', 'readwrite');
  for (let cursor = await tx.store.openCursor(metricRange(runId)); cursor; cursor = await cursor.continue()) {
    if (cursor.value.metric.step > step) await cursor.delete();
  }
  await tx.done;
}

export async function deleteRun(db: AppDatabase, runId: string): Promise<void> {
  await deleteRunCheckpoints(db, runId);
  await db.delete('runMetrics', metricRange(runId));
  await db.delete('runs', runId);
}
