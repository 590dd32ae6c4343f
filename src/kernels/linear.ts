/**
 * The one entry the model engine calls for a base (frozen) linear layer, whatever the weight's format:
 *   linearForward         y[N, M]  = x[N, K] · W[M, K]ᵀ (+ b[M])
 *   linearBackwardInput   dx[N, K] = dy[N, M] · W[M, K]          (optionally accumulated into dx)
 * Routing:
 *   f32 weight that fits one binding   → src/kernels/matmul.ts (shaders/matmul.wgsl)
 *   f32 weight larger than a binding   → src/kernels/matmul_dense.ts, split by rows
 *   f16, bf16                          → src/kernels/matmul_dense.ts
 *   q8_0, q4_0, nf4                    → src/kernels/matmul_quant.ts
 * The base weight gets no gradient (LoRA trains adapters only), so there is no backward_weight here.
 */
import type { Recorder } from '../gpu/recorder.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { matmulBackwardInput, matmulForward } from './matmul.ts';
import { matmulDenseBackwardInput, matmulDenseForward } from './matmul_dense.ts';
import { matmulQuantBackwardInput, matmulQuantForward } from './matmul_quant.ts';
import { bindingLimits, checkShape } from './weight-chunks.ts';
import { type BaseWeight, type DenseWeight, isQuantWeight, validateWeight } from './weights.ts';

export interface LinearForwardArgs {
  x: GPUBuffer;
  w: BaseWeight;
  y: GPUBuffer;
  bias?: GPUBuffer;
  N: number;
  K: number;
  M: number;
}

export interface LinearBackwardInputArgs {
  dy: GPUBuffer;
  w: BaseWeight;
  dx: GPUBuffer;
  N: number;
  K: number;
  M: number;
  accumulate?: boolean;
}

export interface LinearOptions {
  /** Upper bound on one binding's bytes, below the device limit (tests use it to force the split path). */
  maxBindingBytes?: number;
}

/** True when an f32 weight can be bound whole, as src/kernels/matmul.ts binds it. */
function f32FitsOneBinding(rt: GpuRuntime, w: DenseWeight, opts: LinearOptions): boolean {
  return w.data.size <= bindingLimits(rt, opts.maxBindingBytes).maxBindingBytes;
}

export async function linearForward(
  rt: GpuRuntime,
  rec: Recorder,
  a: LinearForwardArgs,
  opts: LinearOptions = {},
): Promise<void> {
  const w = a.w;
  if (isQuantWeight(w)) return matmulQuantForward(rt, rec, { ...a, w }, opts);
  if (w.format === 'f32' && f32FitsOneBinding(rt, w, opts)) {
    validateWeight(w, 'linearForward');
    checkShape('linearForward', w, a.K, a.M);
    return matmulForward(rt, rec, {
      x: a.x,
      w: w.data,
      y: a.y,
      ...(a.bias ? { bias: a.bias } : {}),
      N: a.N,
      K: a.K,
      M: a.M,
    });
  }
  return matmulDenseForward(rt, rec, { ...a, w }, opts);
}

export async function linearBackwardInput(
  rt: GpuRuntime,
  rec: Recorder,
  a: LinearBackwardInputArgs,
  opts: LinearOptions = {},
): Promise<void> {
  const w = a.w;
  if (isQuantWeight(w)) return matmulQuantBackwardInput(rt, rec, { ...a, w }, opts);
  if (w.format === 'f32' && f32FitsOneBinding(rt, w, opts)) {
    validateWeight(w, 'linearBackwardInput');
    checkShape('linearBackwardInput', w, a.K, a.M);
    return matmulBackwardInput(rt, rec, {
      dy: a.dy,
      w: w.data,
      dx: a.dx,
      N: a.N,
      K: a.K,
      M: a.M,
      accumulate: Boolean(a.accumulate),
    });
  }
  return matmulDenseBackwardInput(rt, rec, { ...a, w }, opts);
}
