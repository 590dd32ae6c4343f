/**
 * What the Export page shows about a run's checkpoints: the step and validation loss of the latest and of the best
 * one. Read on the page from IndexedDB by key only (checkpoint bytes can be large), with the validation losses from
 * the run's metrics.
 */
import { appDb } from '../app-db.ts';

export interface CheckpointSummary {
  step: number;
  valLoss: number | null;
}

export interface CheckpointChoice {
  latest: CheckpointSummary | null;
  best: CheckpointSummary | null;
  count: number;
}

const range = (runId: string) => IDBKeyRange.bound([runId, -Infinity], [runId, Infinity]);

/** Latest and best of the given checkpoint steps, with validation losses by step (pure, for tests). */
export function summarize(steps: number[], valLossByStep: Map<number, number>): CheckpointChoice {
  const sorted = [...steps].sort((a, b) => a - b);
  const at = (step: number): CheckpointSummary => ({ step, valLoss: valLossByStep.get(step) ?? null });
  const latestStep = sorted.at(-1);
  let best: CheckpointSummary | null = null;
  for (const s of sorted) {
    const v = valLossByStep.get(s);
    if (v !== undefined && (best === null || v < best.valLoss!)) best = { step: s, valLoss: v };
  }
  return { latest: latestStep === undefined ? null : at(latestStep), best, count: sorted.length };
}

export async function checkpointChoice(runId: string): Promise<CheckpointChoice> {
  const db = await appDb();
  const keys = await db.getAllKeys('checkpoints', range(runId));
  const metrics = await db.getAll('runMetrics', range(runId));
  const losses = new Map<number, number>();
  for (const m of metrics) if (m.metric.kind === 'eval') losses.set(m.metric.step, m.metric.valLoss);
  return summarize(
    keys.map((k) => k[1]),
    losses,
  );
}
