/**
 * A training session: everything between "this model, these records, this config" and a trained adapter, shared by
 * the browser's engine worker and `cli train` so both train exactly the same way. It loads the model (quantized as
 * the config says), turns the records into examples with the model's tokenizer, creates or continues the adapter,
 * restores a checkpoint when resuming, and runs the loop with pause / stop, progress metrics, evaluation, sample
 * generations and checkpoints at the right moments.
 */
import type { ModelTokenizer } from '../data/tokenizer.ts';
import { loadTokenizer } from '../data/tokenizer.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import type { ModelDescription } from '../model/config.ts';
import { stopTokenIds } from '../model/generation-config.ts';
import { loadModel } from '../model/loader.ts';
import { type ModelLora, createLora, peftInit } from '../model/lora-state.ts';
import { ModelEngine } from '../model/model.ts';
import type { ModelSource } from '../model/source.ts';
import type { DatasetRecord, ImportSettings } from '../schema/dataset.ts';
import type { TrainConfig } from '../schema/train.ts';
import type { ValidatorKind } from '../validate/types.ts';
import type { RunMetric } from '../schema/metrics.ts';
import type { GpuMemoryNow } from '../schema/runs.ts';
import { adapterSettings } from './adapter.ts';
import type { Example } from './batches.ts';
import { type RunState, restoreCheckpoint, saveCheckpoint } from './checkpoint.ts';
import type { RunControl } from './control.ts';
import { samplePrompts, splitExamples } from './examples.ts';
import { packExamples } from './packing.ts';
import { DataCursor, runTraining, totalSteps } from './run.ts';
import { type SamplePrompt, sampleGenerations } from './samples.ts';
import { LoraTrainer } from './trainer.ts';

export interface SessionInputs {
  rt: GpuRuntime;
  source: ModelSource;
  /** The base model's name as exports record it (Hub repo id or folder name). */
  modelName: string;
  records: readonly DatasetRecord[];
  /** The dataset's settings (mask, over-length policy); maxLength comes from the config. */
  settings: ImportSettings;
  config: TrainConfig;
  /** Continue an existing adapter instead of a fresh one (its rank, alpha, targets and layers win). */
  adapter?: (rt: GpuRuntime, desc: ModelDescription) => Promise<ModelLora>;
  samples?: { count: number; maxNewTokens: number; validator: ValidatorKind | null };
  owner?: string;
  onPhase?: (phase: 'loading-model' | 'preparing-data', detail?: string) => void;
}

export interface SessionCallbacks {
  onMetric: (m: RunMetric, progress: { etaMs: number | null; gpu: GpuMemoryNow }) => void | Promise<void>;
  /** A checkpoint's bytes, with the validation loss measured at that step (null when none). */
  onCheckpoint?: (bytes: Uint8Array<ArrayBuffer>, step: number, valLoss: number | null) => void | Promise<void>;
  onPhase?: (phase: 'training' | 'evaluating' | 'sampling' | 'checkpointing' | 'paused') => void;
  control?: RunControl;
  /** Facts stored in every checkpoint (shown when resuming). */
  info?: RunState['info'];
}

/** Layer indices of a LoRA layer choice on a model with `total` layers. */
export function layerIndices(layers: TrainConfig['lora']['layers'], total: number): number[] {
  if (layers === 'all') return Array.from({ length: total }, (_, i) => i);
  if (Array.isArray(layers)) return layers;
  const top = Math.min(total, layers.top);
  return Array.from({ length: top }, (_, i) => total - top + i);
}

export class TrainingSession {
  private elapsedBefore = 0;
  private data: DataCursor;

  private constructor(
    readonly rt: GpuRuntime,
    readonly config: TrainConfig,
    readonly modelName: string,
    readonly tokenizer: ModelTokenizer,
    readonly lora: ModelLora,
    readonly engine: ModelEngine,
    readonly trainer: LoraTrainer,
    readonly train: readonly Example[],
    readonly valid: readonly Example[],
    readonly T: number,
    private readonly samplePrompts: SamplePrompt[],
    private readonly sampleOpts: { maxNewTokens: number; eosTokenIds: number[]; validator: ValidatorKind | null },
    private readonly owner: string,
  ) {
    this.data = new DataCursor(train.length, config.seed);
  }

  static async open(i: SessionInputs): Promise<TrainingSession> {
    const { rt, config } = i;
    const owner = i.owner ?? 'session';
    i.onPhase?.('preparing-data');
    const tokenizer = await loadTokenizer((name) => i.source.readText(name));
    const settings: ImportSettings = { ...i.settings, maxLength: config.maxLength };
    let train = splitExamples(tokenizer, i.records, 'train', settings);
    let valid = splitExamples(tokenizer, i.records, 'valid', settings);
    if (train.length === 0)
      throw new Error(
        'The training split has no example with a token to learn. Check the mask setting and the maximum length, or import more rows.',
      );
    const longest = Math.max(2, ...train.map((e) => e.ids.length), ...valid.map((e) => e.ids.length));
    // Packed rows fill up to maxLength (or all the tokens there are, when fewer); unpacked rows are as long as the longest example.
    const allTokens = [...train, ...valid].reduce((a, e) => a + e.ids.length, 0);
    const T = config.pack ? Math.max(longest, Math.min(config.maxLength, allTokens)) : longest;
    if (config.pack) {
      train = packExamples(train, T);
      valid = packExamples(valid, T);
    }
    i.onPhase?.('loading-model', i.modelName);
    const { weights } = await loadModel(rt, i.source, { quant: config.base, owner: `${owner}/weights` });
    try {
      const d = weights.desc;
      const lora = i.adapter
        ? await i.adapter(rt, d)
        : createLora(
            rt,
            d,
            { ...config.lora, layers: layerIndices(config.lora.layers, d.layers) },
            peftInit(config.seed),
            `${owner}/lora`,
          );
      const engine = new ModelEngine(
        rt,
        weights,
        config.microBatch,
        T,
        lora,
        config.checkpointing ? 'checkpointed' : 'train',
      );
      const trainer = new LoraTrainer(rt, engine, lora, config, totalSteps(config, train.length));
      const s = i.samples ?? { count: 0, maxNewTokens: 32, validator: null };
      const prompts = samplePrompts(i.records, 'valid', s.count);
      const eos = stopTokenIds(d, await i.source.readText('generation_config.json'), tokenizer.eosTokenId);
      return new TrainingSession(
        rt,
        config,
        i.modelName,
        tokenizer,
        lora,
        engine,
        trainer,
        train,
        valid,
        T,
        prompts,
        { maxNewTokens: s.maxNewTokens, eosTokenIds: eos, validator: s.validator },
        owner,
      );
    } catch (err) {
      rt.memory.destroyOwner(`${owner}/weights`);
      rt.memory.destroyOwner(`${owner}/lora`);
      throw err;
    }
  }

  get totalSteps(): number {
    return this.trainer.totalSteps;
  }

  get step(): number {
    return this.trainer.step;
  }

  /** Continues from a checkpoint: adapters, AdamW moments, step and data position. */
  async restore(bytes: Uint8Array): Promise<RunState> {
    const { state, data } = await restoreCheckpoint(this.rt, this.trainer.optimizer, bytes, this.train.length);
    this.data = data;
    this.elapsedBefore = Number(state.info.elapsedMs ?? 0);
    return state;
  }

  async checkpoint(info: RunState['info'] = {}, elapsedMs = this.elapsedBefore): Promise<Uint8Array<ArrayBuffer>> {
    return saveCheckpoint(
      this.rt,
      this.trainer.optimizer,
      this.data,
      this.config,
      { ...info, elapsedMs },
      adapterSettings(this.lora, this.config.lora.dropout, this.modelName),
    );
  }

  private gpu(): GpuMemoryNow {
    const s = this.rt.memory.stats();
    return { liveBytes: s.liveBytes, peakBytes: s.peakBytes };
  }

  /** Trains until the last step or a stop; returns how it ended. */
  async run(cb: SessionCallbacks): Promise<'done' | 'stopped'> {
    const { config } = this;
    const total = this.totalSteps;
    // Stopped while the model was loading: nothing trained, nothing to save.
    if (cb.control?.stopRequested) return 'stopped';
    const startStep = this.step;
    const started = performance.now();
    let stepStart = started;
    let trainingMs = 0;
    let lastVal: number | null = null;
    let stopped = false;
    const elapsed = () => this.elapsedBefore + (performance.now() - started);
    const save = async () => {
      if (!cb.onCheckpoint) return;
      cb.onPhase?.('checkpointing');
      await cb.onCheckpoint(await this.checkpoint(cb.info, elapsed()), this.step, lastVal);
    };
    cb.onPhase?.('training');
    await runTraining({
      config,
      trainer: this.trainer,
      engine: this.engine,
      train: this.train,
      valid: this.valid,
      T: this.T,
      data: this.data,
      beforeEval: () => cb.onPhase?.('evaluating'),
      onMetric: async (m) => {
        if (m.kind === 'step') {
          const ms = performance.now() - stepStart;
          trainingMs += ms;
          const done = m.step - startStep;
          const etaMs = done > 0 ? (trainingMs / done) * (total - m.step) : null;
          const metric: RunMetric = {
            kind: 'step',
            step: m.step,
            loss: m.loss,
            lr: m.lr,
            gradNorm: m.gradNorm,
            tokens: m.inputTokens,
            epoch: m.epoch,
            elapsedMs: elapsed(),
            tokensPerSec: ms > 0 ? (1000 * m.inputTokens) / ms : 0,
          };
          await cb.onMetric(metric, { etaMs, gpu: this.gpu() });
        } else {
          lastVal = m.valLoss;
          await cb.onMetric(m, { etaMs: null, gpu: this.gpu() });
          if (this.samplePrompts.length > 0) {
            cb.onPhase?.('sampling');
            const r = await sampleGenerations(
              this.rt,
              this.engine,
              this.tokenizer,
              this.samplePrompts,
              this.sampleOpts,
            );
            await cb.onMetric(
              { kind: 'samples', step: m.step, samples: r.samples, validity: r.validity },
              { etaMs: null, gpu: this.gpu() },
            );
          }
        }
      },
      afterStep: async (step, _data, evaluated) => {
        const c = cb.control;
        if (
          step === total ||
          evaluated ||
          (config.saveEvery > 0 && step % config.saveEvery === 0) ||
          c?.stopRequested ||
          c?.pauseRequested
        )
          await save();
        lastVal = null;
        if (c?.pauseRequested && !c.stopRequested) {
          cb.onPhase?.('paused');
          await c.whilePaused();
        }
        if (c?.stopRequested) {
          stopped = step < total;
          return false;
        }
        cb.onPhase?.('training');
        stepStart = performance.now();
        return true;
      },
    });
    return stopped ? 'stopped' : 'done';
  }

  destroy(): void {
    this.trainer.destroy();
    this.engine.destroy();
    this.rt.memory.destroyOwner(`${this.owner}/lora`);
    this.rt.memory.destroyOwner(`${this.owner}/weights`);
  }
}
