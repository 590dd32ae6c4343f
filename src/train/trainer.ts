/**
 * One optimizer step of LoRA training: the micro-batches of an accumulated batch run forward and backward with the
 * loss scaled by 1 / (trained tokens of the whole accumulated batch) — so the loss is the mean over unmasked tokens of
 * the whole batch, not a mean of per-micro-batch means — then AdamW updates every adapter.
 *
 * Host side: each micro-batch is one submit, replayed from the previous step's (same uniform buffer and bind groups
 * for the same B × T), with no wait in between; the last one also carries the update, which the GPU skips when the
 * loss or the gradient norm is not finite. Loss and norm are read back once, at the end of the step.
 */
import type { GpuRuntime } from '../gpu/runtime.ts';
import type { ModelLora } from '../model/lora-state.ts';
import { type ModelEngine, type TrainBatch, replayKey } from '../model/model.ts';
import type { TrainConfig } from '../schema/train.ts';
import { trainedTokens } from './batches.ts';
import { LoraAdamW } from './optimizer.ts';
import { learningRate } from './schedule.ts';

export interface StepReport {
  step: number;
  loss: number;
  gradNorm: number;
  lr: number;
  /** Tokens that trained in this step. */
  tokens: number;
}

/**
 * A step whose loss or gradient norm is NaN / ±Inf: the run stops here, and no checkpoint is written after it, so
 * the newest saved checkpoint is the last good one (a NaN loss is caught before the update touches the adapter).
 */
export class NonFiniteTrainingError extends Error {
  constructor(
    readonly step: number,
    what: string,
  ) {
    super(
      `Training stopped at step ${step}: ${what}. The adapter's last checkpoint is kept; lower the learning rate ` +
        '(or raise the warm-up), check the data for extreme rows, and resume or start again.',
    );
    this.name = 'NonFiniteTrainingError';
  }
}

export class LoraTrainer {
  readonly optimizer: LoraAdamW;

  constructor(
    private readonly rt: GpuRuntime,
    private readonly engine: ModelEngine,
    lora: ModelLora,
    private readonly config: TrainConfig,
    readonly totalSteps: number,
  ) {
    this.optimizer = new LoraAdamW(rt, lora);
  }

  get step(): number {
    return this.optimizer.step;
  }

  /** Dropout seed of micro-batch i of step s: fixed by the run's seed, so a resumed run draws the same masks. */
  private dropoutSeed(step: number, i: number): number {
    return (
      (Math.imul(this.config.seed + 1, 0x9e3779b1) ^ Math.imul(step, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35)) >>> 0
    );
  }

  async trainStep(microBatches: readonly TrainBatch[]): Promise<StepReport> {
    if (microBatches.length === 0) throw new Error('a training step needs at least one micro-batch');
    const tokens = trainedTokens(microBatches);
    if (tokens === 0)
      throw new Error('none of these examples has a token to learn (every target is masked); check the mask setting');
    const step = this.optimizer.step + 1;
    const lr = learningRate(this.config.optim, step, this.totalSteps);
    const last = microBatches.length - 1;
    for (const [i, mb] of microBatches.entries()) {
      const accumulate = i > 0;
      const key = `${replayKey('train', mb, accumulate)}${i === last ? ':update' : ''}`;
      const rec = this.rt.recorder('train step', { replay: key });
      await this.engine.recordTrainMicroBatch(rec, mb, {
        scale: 1 / tokens,
        accumulate,
        dropout: { p: this.config.lora.dropout, seed: this.dropoutSeed(step, i) },
      });
      if (i === last) await this.optimizer.record(rec, this.config.optim, lr, this.engine.lossBuffer);
      await rec.submit({ wait: false });
    }
    const { loss, gradNorm, applied } = await this.optimizer.readStats();
    if (!Number.isFinite(loss))
      throw new NonFiniteTrainingError(step, `the training loss is ${loss} (the update was not applied)`);
    if (!Number.isFinite(gradNorm) || !applied)
      throw new NonFiniteTrainingError(step, `the gradient norm is ${gradNorm} (the update was not applied)`);
    return { step, loss, gradNorm, lr, tokens };
  }

  destroy(): void {
    this.optimizer.destroy();
  }
}
