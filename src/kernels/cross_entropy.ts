/**
 * Output head + cross-entropy, chunked over tokens so the [T, V] logits are never held whole
 * (shaders/cross_entropy.wgsl). Per chunk of Tc tokens:
 *   1. head.logits:         logits[Tc, V] = h[t0 : t1] · Woutᵀ            (the head's own matmul: f32, or quantized)
 *   2. cross_entropy_forward: soft-cap, log-softmax, per-token loss, and dlogits = (softmax − onehot)·scale·cap'
 *                           written in place over the logits chunk
 *   3. head.backwardInput:  dh[t0 : t1] = dlogits · Wout
 * and once per call: loss[0] (+)= scale · Σ_t losses[t] (one scalar to read back per step).
 * The head is frozen, so no dWout is computed.
 */
import source from '../../shaders/cross_entropy.wgsl';
import type { Recorder } from '../gpu/recorder.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { defineShader } from '../gpu/shader.ts';
import { deviceGrid, requireFloats } from './grid.ts';
import { matmulBackwardInput, matmulForward } from './matmul.ts';

export const CROSS_ENTROPY_SHADER = defineShader('cross_entropy', source, {
  rows: 'u32',
  vocab: 'u32',
  t0: 'u32',
  softcap: 'f32',
  scale: 'f32',
  has_mask: 'u32',
  write_grad: 'u32',
  accumulate: 'u32',
});

/** The ignore index in `targets`: such tokens (and any target ≥ V) contribute neither loss nor gradient. */
export const IGNORE_INDEX = 0xffffffff;

/**
 * An LM head that can produce the logits of a range of tokens and push their gradient back to the hidden states.
 * Implementations choose the weight format (f32 here; quantized heads elsewhere).
 */
export interface LmHead {
  readonly V: number;
  readonly C: number;
  /** Records logits[0 : t1 − t0, V] = h[t0 : t1, C] · Woutᵀ (h is the whole [T, C] buffer). */
  logits(rec: Recorder, h: GPUBuffer, t0: number, t1: number, logits: GPUBuffer): Promise<void>;
  /** Records dh[t0 : t1, C] = dlogits[0 : t1 − t0, V] · Wout, overwriting those rows of the whole [T, C] buffer dh. */
  backwardInput(rec: Recorder, dlogits: GPUBuffer, t0: number, t1: number, dh: GPUBuffer): Promise<void>;
}

/** A head's two products on whole buffers: y[N, V] = x[N, C]·Woutᵀ and dx[N, C] = dy[N, V]·Wout. */
export interface HeadProducts {
  forward(rec: Recorder, x: GPUBuffer, y: GPUBuffer, N: number): Promise<void>;
  backwardInput(rec: Recorder, dy: GPUBuffer, dx: GPUBuffer, N: number): Promise<void>;
}

/**
 * An LmHead from a head's whole-buffer products. Chunks that start past token 0 go through `scratch`
 * ([chunkTokens, C] floats): the rows are copied in for the logits and the input gradient is copied out, because
 * storage bindings at arbitrary row offsets would break the 256-byte offset alignment rule.
 */
export function rowChunkHead(V: number, C: number, scratch: GPUBuffer, products: HeadProducts): LmHead {
  return {
    V,
    C,
    async logits(rec, h, t0, t1, logits) {
      const rows = t1 - t0;
      requireFloats('head scratch', scratch, rows * C);
      let x = h;
      if (t0 > 0) {
        rec.copy(h, scratch, rows * C * 4, t0 * C * 4, 0);
        x = scratch;
      }
      await products.forward(rec, x, logits, rows);
    },
    async backwardInput(rec, dlogits, t0, t1, dh) {
      const rows = t1 - t0;
      if (t0 === 0) {
        await products.backwardInput(rec, dlogits, dh, rows);
        return;
      }
      requireFloats('head scratch', scratch, rows * C);
      await products.backwardInput(rec, dlogits, scratch, rows);
      rec.copy(scratch, dh, rows * C * 4, 0, t0 * C * 4);
    },
  };
}

/** An f32 head Wout [V, C] using src/kernels/matmul.ts. */
export function f32LmHead(rt: GpuRuntime, w: GPUBuffer, V: number, C: number, scratch: GPUBuffer): LmHead {
  return rowChunkHead(V, C, scratch, {
    forward: (rec, x, y, N) => matmulForward(rt, rec, { x, w, y, N, K: C, M: V }),
    backwardInput: (rec, dy, dx, N) => matmulBackwardInput(rt, rec, { dy, w, dx, N, K: C, M: V }),
  });
}

/** Number of tokens that train: target < V and (without a mask, or) mask ≠ 0. `scale` is 1 / this over the whole batch. */
export function countTrainedTokens(targets: Uint32Array, V: number, mask?: Uint32Array): number {
  let n = 0;
  for (let t = 0; t < targets.length; t++) if (targets[t]! < V && (!mask || mask[t] !== 0)) n++;
  return n;
}

/** A chunk size whose [Tc, V] f32 logits fit in `budgetBytes` (and in one storage binding). */
export function chunkTokensFor(rt: GpuRuntime, V: number, T: number, budgetBytes = 256 * 2 ** 20): number {
  const limit = Math.min(budgetBytes, rt.device.limits.maxStorageBufferBindingSize);
  return Math.max(1, Math.min(T, Math.floor(limit / (4 * V))));
}

export interface CrossEntropyArgs {
  head: LmHead;
  /** Final hidden states [T, C]. */
  h: GPUBuffer;
  /** [T] u32 target ids; IGNORE_INDEX (or any id ≥ V) skips the token. */
  targets: GPUBuffer;
  /** Optional [T] u32 mask: 0 skips the token. */
  mask?: GPUBuffer;
  T: number;
  /** Tokens per chunk (Tc ≥ 1). */
  chunkTokens: number;
  /** Scratch for one chunk of logits, at least [min(Tc, T), V] floats. */
  logits: GPUBuffer;
  /** [T] per-token losses (0 for skipped tokens). */
  losses: GPUBuffer;
  /** [1]: receives scale · Σ losses. */
  loss: GPUBuffer;
  /** 1 / number of trained tokens of the whole accumulated batch (countTrainedTokens), or 0 when there are none. */
  scale: number;
  /** Final logit soft-cap c (gemma2: 30); 0 or absent disables it. */
  softcap?: number;
  /** Input gradient [T, C]; when absent no gradient is computed (evaluation) and the logits are left as computed. */
  dh?: GPUBuffer;
  /** Add into loss[0] instead of overwriting it (gradient accumulation over micro-batches). */
  accumulateLoss?: boolean;
}

const WG = 256;

/** Records the chunked head + loss (+ gradient) for T tokens. */
export async function crossEntropyLoss(rt: GpuRuntime, rec: Recorder, a: CrossEntropyArgs): Promise<void> {
  const { head, T } = a;
  const V = head.V;
  if (!Number.isInteger(a.chunkTokens) || a.chunkTokens < 1)
    throw new RangeError(`chunkTokens must be a positive integer, got ${a.chunkTokens}`);
  const Tc = Math.min(a.chunkTokens, Math.max(T, 1));
  requireFloats('cross-entropy logits chunk', a.logits, Tc * V);
  requireFloats('cross-entropy per-token losses', a.losses, T);
  const writeGrad = a.dh !== undefined;
  const forward = await rt.pipelines.get({
    shader: CROSS_ENTROPY_SHADER,
    entryPoint: 'cross_entropy_forward',
    constants: { WG },
  });
  for (let t0 = 0; t0 < T; t0 += Tc) {
    const t1 = Math.min(T, t0 + Tc);
    await head.logits(rec, a.h, t0, t1, a.logits);
    rec.dispatch({
      label: 'cross_entropy_forward',
      pipeline: forward,
      buffers: [a.logits, a.targets, a.mask ?? rt.unusedBinding, a.losses],
      params: params(a, t1 - t0, V, t0, writeGrad),
      workgroups: deviceGrid(rt, t1 - t0),
    });
    if (a.dh) await head.backwardInput(rec, a.logits, t0, t1, a.dh);
  }
  const reduce = await rt.pipelines.get({
    shader: CROSS_ENTROPY_SHADER,
    entryPoint: 'cross_entropy_forward_reduce',
    constants: { WG },
  });
  rec.dispatch({
    label: 'cross_entropy_forward_reduce',
    pipeline: reduce,
    buffers: [a.losses, a.loss],
    params: params(a, T, V, 0, false),
    workgroups: [1],
  });
}

function params(a: CrossEntropyArgs, rows: number, V: number, t0: number, writeGrad: boolean): ArrayBuffer {
  return CROSS_ENTROPY_SHADER.params.pack({
    rows,
    vocab: V,
    t0,
    softcap: a.softcap ?? 0,
    scale: a.scale,
    has_mask: a.mask ? 1 : 0,
    write_grad: writeGrad ? 1 : 0,
    accumulate: a.accumulateLoss ? 1 : 0,
  });
}
