/**
 * AdamW over every LoRA parameter, with the global gradient norm clipped on the GPU (the clip factor never leaves
 * it; only the norm is read back for progress reports).
 */
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

export class LoraAdamW {
  private readonly slots: Slot[] = [];
  private readonly partials: GPUBuffer;
  private readonly stats: GPUBuffer;
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
    this.stats = rt.memory.create(owner, 'grad-norm-stats', 8).buffer;
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

  /** One update at learning rate `lr`; returns the gradient norm before clipping. */
  async update(o: TrainConfig['optim'], lr: number): Promise<number> {
    this.step += 1;
    const rec = this.rt.recorder('adamw');
    await gradNorm(this.rt, rec, {
      grads: this.slots.map((s) => ({ buffer: s.grad, count: s.count })),
      partials: this.partials,
      stats: this.stats,
      maxNorm: o.maxGradNorm,
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
      });
    }
    await rec.submit();
    return (await this.rt.readF32(this.stats, 1))[0]!;
  }

  /** Every parameter with its AdamW state, for checkpoints. */
  get state(): readonly Readonly<Slot>[] {
    return this.slots;
  }

  destroy(): void {
    this.rt.memory.destroyOwner(this.owner);
  }
}
