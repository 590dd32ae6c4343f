/**
 * Training runs in IndexedDB: the run's description and status (`runs`), its history of metrics (`runMetrics`, one
 * row per point so a long run never rewrites its history) and its checkpoints (./checkpoints.ts).
 */
import { type RunMetric, RunMetricSchema } from '../schema/metrics.ts';
import { type RunInfo, RunInfoSchema } from '../schema/runs.ts';
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

/** A row of the `runs` store that is not a run as src/schema/runs.ts describes it (written by something else). */
export class StoredRunError extends Error {
  constructor(id: unknown, detail: string) {
    super(
      `The saved run ${JSON.stringify(id)} in this browser is not in the shape this version of the app reads (${detail}). ` +
        "Delete it from the runs list, or clear this site's data to start afresh.",
    );
    this.name = 'StoredRunError';
  }
}

/** A `runs` row, parsed; throws StoredRunError when it does not have a run's shape. */
function parseRun(row: unknown): RunInfo {
  const parsed = RunInfoSchema.safeParse(row);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  throw new StoredRunError((row as { id?: unknown } | null)?.id, `${where}${issue?.message ?? 'not a run'}`);
}

export async function getRun(db: AppDatabase, id: string): Promise<RunInfo | undefined> {
  const row = await db.get('runs', id);
  return row === undefined ? undefined : parseRun(row);
}

/**
 * Newest first. A row that is not a run is left out (and named on the console) rather than hiding every other run;
 * getRun on its id says what is wrong with it.
 */
export async function listRuns(db: AppDatabase): Promise<RunInfo[]> {
  const runs: RunInfo[] = [];
  for (const row of (await db.getAllFromIndex('runs', 'byCreated')).reverse()) {
    try {
      runs.push(parseRun(row));
    } catch (err) {
      console.warn((err as Error).message);
    }
  }
  return runs;
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
  return (await db.getAll('runMetrics', metricRange(runId))).map((r) => {
    const parsed = RunMetricSchema.safeParse(r.metric);
    if (!parsed.success)
      throw new StoredRunError(
        runId,
        `point ${r.seq} of its history: ${parsed.error.issues[0]?.message ?? 'not a metric'}`,
      );
    return parsed.data;
  });
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
