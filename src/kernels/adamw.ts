/**
 * AdamW and the global gradient norm (shaders/adamw.wgsl), both without readback:
 *   gradNorm     stats[2] = (‖grad_scale · g‖₂ over several gradient buffers, clip = min(1, max_norm / (‖·‖ + 1e-6)))
 *                — one sum-of-squares pass per buffer into a partials scratch, then one finalize pass
 *   adamwStep    param, m, v updated in place; the gradient is multiplied by grad_scale and, given `stats`, by
 *                the clip factor that gradNorm left on the GPU
 * With a guard (`gradNorm({ guardLoss })`, `adamwStep({ guarded: true })`), stats holds 4 floats
 * (norm, clip, loss, skip) and the update is skipped on the GPU when the norm or the loss is not finite, so a whole
 * training step runs without reading anything back before the update.
 */
import source from '../../shaders/adamw.wgsl';
import type { Recorder } from '../gpu/recorder.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { defineShader } from '../gpu/shader.ts';
import { deviceGrid, requireFloats } from './grid.ts';

export const ADAMW_SHADER = defineShader('adamw', source, {
  count: 'u32',
  lr: 'f32',
  beta1: 'f32',
  beta2: 'f32',
  eps: 'f32',
  weight_decay: 'f32',
  bc1: 'f32',
  bc2_sqrt: 'f32',
  one_minus_beta1: 'f32',
  one_minus_beta2: 'f32',
  grad_scale: 'f32',
  has_clip: 'u32',
  partial_offset: 'u32',
  max_norm: 'f32',
  guard: 'u32',
});

const WG = 256;
/** Upper bound on the workgroups (and so partial slots) of one buffer's sum-of-squares pass. */
const MAX_NORM_GROUPS = 256;

export interface AdamwHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

interface AllParams {
  count: number;
  hyper?: AdamwHyper;
  step?: number;
  gradScale?: number;
  hasClip?: boolean;
  partialOffset?: number;
  maxNorm?: number;
  guard?: boolean;
}

function params(p: AllParams): ArrayBuffer {
  const h = p.hyper ?? { lr: 0, beta1: 0, beta2: 0, eps: 0, weightDecay: 0 };
  const t = p.step ?? 1;
  return ADAMW_SHADER.params.pack({
    count: p.count,
    lr: h.lr,
    beta1: h.beta1,
    beta2: h.beta2,
    eps: h.eps,
    weight_decay: h.weightDecay,
    // Bias corrections in float64, rounded once to f32.
    bc1: 1 - h.beta1 ** t,
    bc2_sqrt: Math.sqrt(1 - h.beta2 ** t),
    one_minus_beta1: 1 - h.beta1,
    one_minus_beta2: 1 - h.beta2,
    grad_scale: p.gradScale ?? 1,
    has_clip: p.hasClip ? 1 : 0,
    partial_offset: p.partialOffset ?? 0,
    max_norm: p.maxNorm ?? 0,
    guard: p.guard ? 1 : 0,
  });
}

export interface AdamwArgs extends AdamwHyper {
  param: GPUBuffer;
  grad: GPUBuffer;
  m: GPUBuffer;
  v: GPUBuffer;
  count: number;
  /** Optimizer step t ≥ 1 (the first update is t = 1). */
  step: number;
  /** Multiplies every gradient (e.g. 1 / accumulation steps); default 1. */
  gradScale?: number;
  /** stats[2] from gradNorm: the gradient is also multiplied by the clip factor stats[1]. */
  stats?: GPUBuffer;
  /** stats[4] from a guarded gradNorm: no update when stats[3] ≠ 0 (a non-finite norm or loss). */
  guarded?: boolean;
}

export async function adamwStep(rt: GpuRuntime, rec: Recorder, a: AdamwArgs): Promise<void> {
  if (a.count === 0) return;
  if (!Number.isInteger(a.step) || a.step < 1) throw new RangeError(`AdamW step must be an integer ≥ 1, got ${a.step}`);
  if (a.guarded && !a.stats) throw new RangeError('a guarded AdamW step needs the stats of a guarded gradNorm');
  if (a.guarded) requireFloats('guarded adamw stats', a.stats!, 4);
  const pipeline = await rt.pipelines.get({ shader: ADAMW_SHADER, entryPoint: 'adamw_forward', constants: { WG } });
  rec.dispatch({
    label: 'adamw_forward',
    pipeline,
    buffers: [a.param, a.grad, a.m, a.v, a.stats ?? rt.unusedBinding],
    params: params({
      count: a.count,
      hyper: a,
      step: a.step,
      gradScale: a.gradScale ?? 1,
      hasClip: Boolean(a.stats),
      guard: Boolean(a.guarded),
    }),
    workgroups: deviceGrid(rt, Math.ceil(a.count / WG)),
  });
}

/** Workgroups (= partial slots) used for one gradient buffer of `count` elements. */
function normGroups(count: number): number {
  return Math.max(1, Math.min(MAX_NORM_GROUPS, Math.ceil(count / (4 * WG))));
}

/** Floats the partials scratch of gradNorm needs for buffers of these element counts. */
export function gradNormPartialCount(counts: readonly number[]): number {
  return Math.max(
    1,
    counts.reduce((s, c) => s + normGroups(c), 0),
  );
}

export interface GradNormArgs {
  grads: readonly { buffer: GPUBuffer; count: number }[];
  /** At least gradNormPartialCount(counts) floats. */
  partials: GPUBuffer;
  /** [2]: receives (norm, clip); [4] with guardLoss: (norm, clip, loss, skip). */
  stats: GPUBuffer;
  /** [1]: the step's loss; given, skip = 1 when it or the norm is NaN / ±Inf (and a guarded adamwStep does nothing). */
  guardLoss?: GPUBuffer;
  /** Clip threshold; ≤ 0 or absent: clip = 1. */
  maxNorm?: number;
  /** The norm is taken of grad · gradScale (pass the same factor as to adamwStep); default 1. */
  gradScale?: number;
}

export async function gradNorm(rt: GpuRuntime, rec: Recorder, a: GradNormArgs): Promise<void> {
  const total = gradNormPartialCount(a.grads.map((g) => g.count));
  requireFloats('grad-norm partials', a.partials, total);
  requireFloats('grad-norm stats', a.stats, a.guardLoss ? 4 : 2);
  const partial = await rt.pipelines.get({
    shader: ADAMW_SHADER,
    entryPoint: 'grad_norm_forward_partial',
    constants: { WG },
  });
  let offset = 0;
  for (const g of a.grads) {
    const groups = normGroups(g.count);
    rec.dispatch({
      label: 'grad_norm_forward_partial',
      pipeline: partial,
      buffers: [g.buffer, a.partials],
      params: params({ count: g.count, partialOffset: offset }),
      workgroups: [groups],
    });
    offset += groups;
  }
  const finalize = await rt.pipelines.get({
    shader: ADAMW_SHADER,
    entryPoint: 'grad_norm_forward_finalize',
    constants: { WG },
  });
  rec.dispatch({
    label: 'grad_norm_forward_finalize',
    pipeline: finalize,
    buffers: [a.partials, a.stats, a.guardLoss ?? rt.unusedBinding],
    params: params({
      count: offset,
      gradScale: a.gradScale ?? 1,
      maxNorm: a.maxNorm ?? 0,
      guard: Boolean(a.guardLoss),
    }),
    workgroups: [1],
  });
}
