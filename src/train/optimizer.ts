/**
 * AdamW over every LoRA parameter, with the global gradient norm clipped on the GPU (the clip factor never leaves
 * it). The update is recorded into the caller's recorder (the last micro-batch's, so a step is one submit per
 * micro-batch) and guarded on the GPU: a non-finite loss or gradient norm skips it. Norm and loss come back in one
 * readback per step, through a staging buffer made once.
 */
import type { Recorder } from '../gpu/recorder.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { adamwStep, gradNorm, gradNormPartialCount } from '../kernels/adamw.ts';
import type { ModelLora } from '../model/lora-state.ts';
import type { TrainConfig } from '../schema/train.ts';

interface Slot {
  /** e.g. "model.layers.0.self_attn.q_proj.lora_A" */
  name: string;
  param: GPUBuffer;
  grad: GPUBuffer;
  m: GPUBuffer;
  v: GPUBuffer;
  count: number;
  /** [r, in] for lora_A, [out, r] for lora_B (PEFT's orientation) */
  shape: [number, number];
}

/** What a step's update left on the GPU, read back once. */
export interface UpdateStats {
  /** Gradient norm before clipping. */
  gradNorm: number;
  /** The step's loss, as the guard saw it. */
  loss: number;
  /** False when the loss or the norm was NaN / ±Inf: nothing was updated (the step counter is rolled back). */
  applied: boolean;
}

export class LoraAdamW {
  private readonly slots: Slot[] = [];
  private readonly partials: GPUBuffer;
  private readonly stats: GPUBuffer;
  private readonly staging: GPUBuffer;
  /** Optimizer steps taken (AdamW's t). */
  step = 0;

  constructor(
    private readonly rt: GpuRuntime,
    lora: ModelLora,
    private readonly owner = 'optimizer',
  ) {
    for (const m of lora.modules) {
      const { R } = m.params;
      this.slots.push(this.slot(m.params.A, m.params.dA, [R, m.K], `${m.path}.lora_A`));
      this.slots.push(this.slot(m.params.B, m.params.dB, [m.M, R], `${m.path}.lora_B`));
    }
    this.partials = rt.memory.create(
      owner,
      'grad-norm-partials',
      gradNormPartialCount(this.slots.map((s) => s.count)) * 4,
    ).buffer;
    this.stats = rt.memory.create(owner, 'grad-norm-stats', 16).buffer;
    this.staging = rt.memory.create(
      owner,
      'stats-readback',
      16,
      GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    ).buffer;
  }

  private slot(param: GPUBuffer, grad: GPUBuffer, shape: [number, number], label: string): Slot {
    const count = shape[0] * shape[1];
    return {
      name: label,
      param,
      grad,
      count,
      shape,
      m: this.rt.memory.create(this.owner, `${label}.m`, count * 4).buffer,
      v: this.rt.memory.create(this.owner, `${label}.v`, count * 4).buffer,
    };
  }

  /**
   * Records one update at learning rate `lr`, skipped on the GPU when `loss[0]` or the gradient norm is not finite,
   * and the copy of (norm, clip, loss, skip) for `readStats`.
   */
  async record(rec: Recorder, o: TrainConfig['optim'], lr: number, loss: GPUBuffer): Promise<void> {
    this.step += 1;
    await gradNorm(this.rt, rec, {
      grads: this.slots.map((s) => ({ buffer: s.grad, count: s.count })),
      partials: this.partials,
      stats: this.stats,
      maxNorm: o.maxGradNorm,
      guardLoss: loss,
    });
    for (const s of this.slots) {
      await adamwStep(this.rt, rec, {
        ...s,
        lr,
        beta1: o.beta1,
        beta2: o.beta2,
        eps: o.eps,
        weightDecay: o.weightDecay,
        step: this.step,
        stats: this.stats,
        guarded: true,
      });
    }
    rec.copy(this.stats, this.staging, 16);
  }

  /** Waits for the recorded update and reads its stats (the step's only readback). */
  async readStats(): Promise<UpdateStats> {
    await this.staging.mapAsync(GPUMapMode.READ);
    const [gradNorm, , loss, skip] = new Float32Array(this.staging.getMappedRange().slice(0));
    this.staging.unmap();
    const applied = skip === 0;
    if (!applied) this.step -= 1;
    return { gradNorm: gradNorm!, loss: loss!, applied };
  }

  /** Every parameter with its AdamW state, for checkpoints. */
  get state(): readonly Readonly<Slot>[] {
    return this.slots;
  }

  destroy(): void {
    this.rt.memory.destroyOwner(this.owner);
  }
}
