/**
 * Training checkpoints in IndexedDB: the bytes of src/train/checkpoint.ts per (run, step). After each save only the
 * newest `keepLast` and the best by validation loss are kept. A save is one transaction: when the quota is full the
 * earlier checkpoints stay and the error says what to do.
 */
import type { AppDatabase, CheckpointRow } from './db.ts';
import { storageFailure } from './quota.ts';

export type CheckpointInfo = Omit<CheckpointRow, 'bytes'> & { bytes: number };

function runRange(runId: string): IDBKeyRange {
  return IDBKeyRange.bound([runId, -Infinity], [runId, Infinity]);
}

export async function saveCheckpointRow(
  db: AppDatabase,
  row: Omit<CheckpointRow, 'savedAt'>,
  keepLast = 2,
): Promise<void> {
  try {
    const tx = db.transaction('checkpoints', 'readwrite');
    await tx.store.put({ ...row, savedAt: new Date().toISOString() });
    const all = await tx.store.getAll(runRange(row.runId));
    const best = all.filter((r) => r.valLoss !== null).sort((a, b) => a.valLoss! - b.valLoss!)[0];
    const newest = new Set(
      all
        .map((r) => r.step)
        .sort((a, b) => b - a)
        .slice(0, keepLast),
    );
    for (const r of all) if (!newest.has(r.step) && r.step !== best?.step) await tx.store.delete([r.runId, r.step]);
    await tx.done;
  } catch (err) {
    throw storageFailure(
      err,
      `save the checkpoint of step ${row.step}`,
      'the earlier checkpoints of this run are kept',
    );
  }
}

export async function listCheckpoints(db: AppDatabase, runId: string): Promise<CheckpointInfo[]> {
  const rows = await db.getAll('checkpoints', runRange(runId));
  return rows.map(({ bytes, ...rest }) => ({ ...rest, bytes: bytes.byteLength })).sort((a, b) => a.step - b.step);
}

/** The newest checkpoint of a run (to resume after a reload), or null. */
export async function latestCheckpoint(db: AppDatabase, runId: string): Promise<CheckpointRow | null> {
  const cursor = await db.transaction('checkpoints').store.openCursor(runRange(runId), 'prev');
  return cursor?.value ?? null;
}

/** The checkpoint with the lowest validation loss, or null when none was evaluated. */
export async function bestCheckpoint(db: AppDatabase, runId: string): Promise<CheckpointRow | null> {
  const rows = (await db.getAll('checkpoints', runRange(runId))).filter((r) => r.valLoss !== null);
  return rows.sort((a, b) => a.valLoss! - b.valLoss!)[0] ?? null;
}

export async function deleteRunCheckpoints(db: AppDatabase, runId: string): Promise<void> {
  await db.delete('checkpoints', runRange(runId));
}
