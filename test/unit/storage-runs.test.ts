import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { listCheckpoints, saveCheckpointRow } from '../../src/storage/checkpoints.ts';
import { openAppDb } from '../../src/storage/db.ts';
import {
  appendMetric,
  deleteRun,
  getRun,
  listRuns,
  putRun,
  runMetrics,
  StoredRunError,
  trimMetricsAfter,
} from '../../src/storage/runs.ts';
import { trainConfig } from '../../src/schema/train.ts';
import type { RunInfo } from '../../src/schema/runs.ts';

function run(id: string, createdAt: string): RunInfo {
  return {
    id,
    name: id,
    model: { repo: 'tiny/llama', revision: 'main' },
    datasetId: 'd',
    datasetName: 'data',
    request: {
      model: { repo: 'tiny/llama', revision: 'main' },
      datasetId: 'd',
      preset: null,
      config: {},
      samples: 0,
      validator: null,
    },
    config: trainConfig(null),
    status: 'running',
    createdAt,
    updatedAt: createdAt,
    step: 0,
    totalSteps: 10,
    trainExamples: 4,
    validExamples: 1,
    lastLoss: null,
    lastValLoss: null,
    bestValLoss: null,
    bestStep: null,
    error: null,
  };
}

const step = (n: number) => ({
  kind: 'step' as const,
  step: n,
  loss: 1 / n,
  lr: 1e-4,
  gradNorm: 1,
  tokens: 10,
  epoch: 0,
  elapsedMs: n,
  tokensPerSec: 1,
});

describe('runs in IndexedDB', () => {
  it('lists newest first, keeps the history in order, trims it after a checkpoint and deletes a run with everything it has', async () => {
    const db = await openAppDb(`runs-${Math.random()}`);
    await putRun(db, run('a', '2026-01-01T00:00:00Z'));
    await putRun(db, run('b', '2026-01-02T00:00:00Z'));
    expect((await listRuns(db)).map((r) => r.id)).toEqual(['b', 'a']);
    for (let i = 1; i <= 5; i++) await appendMetric(db, 'a', step(i));
    await appendMetric(db, 'a', { kind: 'eval', step: 4, valLoss: 0.5, valTokens: 3 });
    await appendMetric(db, 'b', step(1));
    expect((await runMetrics(db, 'a')).map((m) => `${m.kind}${m.step}`)).toEqual([
      'step1',
      'step2',
      'step3',
      'step4',
      'step5',
      'eval4',
    ]);
    // Resuming from the checkpoint at step 3 forgets what came after it; the next points follow in order.
    await trimMetricsAfter(db, 'a', 3);
    await appendMetric(db, 'a', step(4));
    expect((await runMetrics(db, 'a')).map((m) => `${m.kind}${m.step}`)).toEqual(['step1', 'step2', 'step3', 'step4']);
    await saveCheckpointRow(db, { runId: 'a', step: 3, valLoss: null, bytes: new Uint8Array(4) });
    await deleteRun(db, 'a');
    expect(await getRun(db, 'a')).toBeUndefined();
    expect(await runMetrics(db, 'a')).toEqual([]);
    expect(await listCheckpoints(db, 'a')).toEqual([]);
    expect(await runMetrics(db, 'b')).toHaveLength(1);
    db.close();
  });

  it('parses what it reads: a diverged loss reads back as stored, a row of another shape is named and left out of the list', async () => {
    const db = await openAppDb(`runs-${Math.random()}`);
    const good = { ...run('good', '2026-01-01T00:00:00Z'), lastLoss: Number.NaN, status: 'failed' as const };
    await putRun(db, good);
    await appendMetric(db, 'good', { ...step(1), loss: Number.NaN, gradNorm: Number.POSITIVE_INFINITY });
    expect(await getRun(db, 'good')).toEqual(good);
    expect((await runMetrics(db, 'good'))[0]).toMatchObject({ kind: 'step', gradNorm: Number.POSITIVE_INFINITY });
    // a row written by something else: a status no version of the app writes, and a metric without its kind
    await db.put('runs', { ...run('odd', '2026-01-02T00:00:00Z'), status: 'exploded' } as unknown as RunInfo);
    await db.put('runMetrics', { runId: 'odd', seq: 0, metric: { step: 1 } } as never);
    expect((await listRuns(db)).map((r) => r.id)).toEqual(['good']);
    await expect(getRun(db, 'odd')).rejects.toThrow(StoredRunError);
    await expect(getRun(db, 'odd')).rejects.toThrow(/"odd".*status/);
    await expect(runMetrics(db, 'odd')).rejects.toThrow(/point 0 of its history/);
    db.close();
  });
});
