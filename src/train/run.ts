/**
 * A training run over examples: a seeded order per epoch, micro-batches of `microBatch` examples, `gradAccum` of them
 * per optimizer step, evaluation on the validation examples every `evalEvery` steps, and a metrics callback.
 */
import type { ModelEngine } from '../model/model.ts';
import type { TrainConfig } from '../schema/train.ts';
import { type Example, microBatch, trainedTokens } from './batches.ts';
import { SeededRng } from './rng.ts';
import type { LoraTrainer, StepReport } from './trainer.ts';

export type Metric = (StepReport & { epoch: number; elapsedMs: number }) | { step: number; val_loss: number; val_tokens: number };

export function totalSteps(config: TrainConfig, trainExamples: number): number {
  if (config.steps) return config.steps;
  return Math.max(1, Math.ceil((config.epochs * trainExamples) / (config.microBatch * config.gradAccum)));
}

/** The example order of an epoch: a seeded shuffle (Fisher–Yates), the same for the same seed and epoch. */
export function epochOrder(n: number, seed: number, epoch: number): number[] {
  const rng = new SeededRng((seed * 0x9e3779b1 + epoch * 0x85ebca6b) >>> 0);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** Mean loss over every trained token of the validation examples (no update; dropout off). */
export async function evaluate(engine: ModelEngine, examples: readonly Example[], B: number, T: number): Promise<{ loss: number; tokens: number }> {
  const batches = [];
  for (let i = 0; i < examples.length; i += B) batches.push(microBatch(examples.slice(i, i + B), T));
  const tokens = trainedTokens(batches);
  if (tokens === 0) return { loss: Number.NaN, tokens: 0 };
  for (const [i, b] of batches.entries()) await engine.trainMicroBatch(b, { scale: 1 / tokens, accumulate: i > 0 });
  return { loss: await engine.readLoss(), tokens };
}

export interface RunOptions {
  config: TrainConfig;
  trainer: LoraTrainer;
  engine: ModelEngine;
  train: readonly Example[];
  valid: readonly Example[];
  /** Row length of the engine (the longest example, at most maxLength). */
  T: number;
  onMetric: (m: Metric) => void | Promise<void>;
  now?: () => number;
}

export async function runTraining(o: RunOptions): Promise<void> {
  const { config } = o;
  if (o.train.length === 0) throw new Error('the training split has no examples with tokens to learn');
  const total = totalSteps(config, o.train.length);
  const now = o.now ?? (() => Date.now());
  const start = now();
  let epoch = 0;
  let order = epochOrder(o.train.length, config.seed, epoch);
  let cursor = 0;
  const next = (): Example => {
    if (cursor >= order.length) {
      epoch += 1;
      order = epochOrder(o.train.length, config.seed, epoch);
      cursor = 0;
    }
    return o.train[order[cursor++]!]!;
  };
  while (o.trainer.step < total) {
    const mbs = Array.from({ length: config.gradAccum }, () => microBatch(Array.from({ length: config.microBatch }, next), o.T));
    const report = await o.trainer.trainStep(mbs);
    await o.onMetric({ ...report, epoch: epoch + cursor / order.length, elapsedMs: now() - start });
    if (config.evalEvery > 0 && o.valid.length > 0 && (report.step % config.evalEvery === 0 || report.step === total)) {
      const v = await evaluate(o.engine, o.valid, config.microBatch, o.T);
      await o.onMetric({ step: report.step, val_loss: v.loss, val_tokens: v.tokens });
    }
  }
}
