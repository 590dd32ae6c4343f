import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import {
  bestCheckpoint,
  deleteRunCheckpoints,
  latestCheckpoint,
  listCheckpoints,
  saveCheckpointRow,
} from '../../src/storage/checkpoints.ts';
import { openAppDb } from '../../src/storage/db.ts';

describe('checkpoints in IndexedDB', () => {
  it('keep the newest two and the best by validation loss, per run', async () => {
    const db = await openAppDb(`ckpt-${Math.random()}`);
    const bytes = (n: number) => new Uint8Array([n, n, n]);
    const losses = [2.0, 1.2, 1.5, 1.4, 1.6];
    for (const [i, v] of losses.entries())
      await saveCheckpointRow(db, { runId: 'run-a', step: (i + 1) * 10, valLoss: v, bytes: bytes(i) });
    await saveCheckpointRow(db, { runId: 'run-b', step: 5, valLoss: null, bytes: bytes(9) });
    expect((await listCheckpoints(db, 'run-a')).map((c) => c.step)).toEqual([20, 40, 50]);
    expect((await latestCheckpoint(db, 'run-a'))?.step).toBe(50);
    expect(Array.from((await latestCheckpoint(db, 'run-a'))!.bytes)).toEqual([4, 4, 4]);
    expect((await bestCheckpoint(db, 'run-a'))?.step).toBe(20);
    expect(await bestCheckpoint(db, 'run-b')).toBeNull();
    await deleteRunCheckpoints(db, 'run-a');
    expect(await listCheckpoints(db, 'run-a')).toEqual([]);
    expect((await latestCheckpoint(db, 'run-b'))?.step).toBe(5);
    db.close();
  });

  it('upgrades a database made before checkpoints existed without losing datasets', async () => {
    const { openDB } = await import('idb');
    const name = `old-${Math.random()}`;
    const old = await openDB(name, 1, {
      upgrade(d) {
        d.createObjectStore('datasets', { keyPath: 'id' }).createIndex('byUpdated', 'updatedAt');
        d.createObjectStore('datasetChunks', { keyPath: ['datasetId', 'index'] });
      },
    });
    await old.put('datasets', { id: 'd1', updatedAt: 'x' });
    old.close();
    const db = await openAppDb(name);
    expect(await db.get('datasets', 'd1')).toMatchObject({ id: 'd1' });
    await saveCheckpointRow(db, { runId: 'r', step: 1, valLoss: null, bytes: new Uint8Array(4) });
    expect(await listCheckpoints(db, 'r')).toHaveLength(1);
    db.close();
  });
});
