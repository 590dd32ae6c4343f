/**
 * A training run over examples: a seeded order per epoch, micro-batches of `microBatch` examples (each padded only to
 * its own longest row's length bucket), `gradAccum` of them per optimizer step, forward-only evaluation on the
 * validation examples every `evalEvery` steps, and a metrics callback.
 */
import type { ModelEngine } from '../model/model.ts';
import type { EvalMetric } from '../schema/metrics.ts';
import type { TrainConfig } from '../schema/train.ts';
import { type Example, bucketedMicroBatch, trainedTokens } from './batches.ts';
import { SeededRng } from '../util/rng.ts';
import { type LoraTrainer, NonFiniteTrainingError, type StepReport } from './trainer.ts';

/**
 * What the loop reports: each step's raw report (the session turns it into a `StepMetric`, adding its timing), and
 * each evaluation as the shared `EvalMetric` (src/schema/metrics.ts).
 */
export type Metric =
  (StepReport & { kind: 'step'; epoch: number; elapsedMs: number; inputTokens: number }) | EvalMetric;

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

/** Mean loss over every trained token of the validation examples (forward only: no backward, no update; dropout off). */
export async function evaluate(
  engine: ModelEngine,
  examples: readonly Example[],
  B: number,
  T: number,
  maxBatches = 0,
): Promise<{ loss: number; tokens: number }> {
  const batches = [];
  for (let i = 0; i < examples.length; i += B) batches.push(bucketedMicroBatch(examples.slice(i, i + B), T));
  if (maxBatches > 0) batches.splice(maxBatches);
  const tokens = trainedTokens(batches);
  if (tokens === 0) return { loss: Number.NaN, tokens: 0 };
  for (const [i, b] of batches.entries()) await engine.evalMicroBatch(b, { scale: 1 / tokens, accumulate: i > 0 });
  return { loss: await engine.readLoss(), tokens };
}

/** The position in the data order: which epoch, and how many of its examples were used. Saved in checkpoints. */
export class DataCursor {
  private order: number[];
  constructor(
    private readonly n: number,
    private readonly seed: number,
    public epoch = 0,
    public cursor = 0,
  ) {
    this.order = epochOrder(n, seed, epoch);
  }

  next(): number {
    if (this.cursor >= this.order.length) {
      this.epoch += 1;
      this.order = epochOrder(this.n, this.seed, this.epoch);
      this.cursor = 0;
    }
    return this.order[this.cursor++]!;
  }

  /** Epochs done, as a fraction. */
  get progress(): number {
    return this.epoch + this.cursor / Math.max(1, this.n);
  }
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
  /** Where a resumed run continues in the data (default: the start). */
  data?: DataCursor;
  /** Called after every optimizer step (e.g. to checkpoint); returning false stops the run there. */
  afterStep?: (step: number, data: DataCursor, evaluated: boolean) => boolean | void | Promise<boolean | void>;
  /** Called before each evaluation starts. */
  beforeEval?: () => void;
  now?: () => number;
}

export async function runTraining(o: RunOptions): Promise<void> {
  const { config } = o;
  if (o.train.length === 0) throw new Error('the training split has no examples with tokens to learn');
  const total = totalSteps(config, o.train.length);
  const now = o.now ?? (() => Date.now());
  const start = now();
  const data = o.data ?? new DataCursor(o.train.length, config.seed);
  const next = (): Example => o.train[data.next()]!;
  while (o.trainer.step < total) {
    let inputTokens = 0;
    const mbs = Array.from({ length: config.gradAccum }, () => {
      const rows = Array.from({ length: config.microBatch }, next);
      for (const r of rows) inputTokens += Math.min(r.ids.length, o.T);
      return bucketedMicroBatch(rows, o.T);
    });
    const report = await o.trainer.trainStep(mbs);
    await o.onMetric({ ...report, kind: 'step', epoch: data.progress, elapsedMs: now() - start, inputTokens });
    const evaluated =
      config.evalEvery > 0 && o.valid.length > 0 && (report.step % config.evalEvery === 0 || report.step === total);
    if (evaluated) {
      o.beforeEval?.();
      const v = await evaluate(o.engine, o.valid, config.microBatch, o.T, config.evalBatches);
      if (v.tokens > 0 && !Number.isFinite(v.loss))
        throw new NonFiniteTrainingError(report.step, `the validation loss is ${v.loss}`);
      await o.onMetric({ kind: 'eval', step: report.step, valLoss: v.loss, valTokens: v.tokens });
    }
    if ((await o.afterStep?.(report.step, data, evaluated)) === false) return;
  }
}
