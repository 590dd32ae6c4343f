/**
 * One transformer block on the GPU, for training: the forward saves what the backward needs (BlockSaved), the
 * backward turns the output gradient into the input gradient and accumulates the LoRA gradients.
 * Covers llama / mistral / qwen2 (q/k/v bias) / qwen3 (per-head q/k norm) / gemma (1+w norms, GeGLU) / gemma2
 * (sandwich norms, logit soft-cap, sliding window). Fused phi3 weights are split into q/k/v and gate/up at load.
 *
 *   h1 = norm(x);  q,k,v = proj(h1) (+bias, +LoRA);  [qk-norm];  RoPE(q,k);  att = attention(q,k,v)
 *   o = proj_o(att) (+LoRA);  [o = norm(o)];  x2 = x + o
 *   h2 = norm(x2); gate,up = proj(h2) (+LoRA); act = glu(gate, up); down = proj_d(act) (+LoRA); [down = norm(down)]
 *   out = x2 + down
 */
import type { Recorder } from '../gpu/recorder.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { attentionBackward, attentionForward } from '../kernels/attention.ts';
import { residualForward } from '../kernels/elementwise.ts';
import { gluBackward, gluForward } from '../kernels/glu.ts';
import { linearBackwardInput, linearForward } from '../kernels/linear.ts';
import { type LoraDropout, loraBackward, loraForward } from '../kernels/lora.ts';
import { rmsnormBackward, rmsnormForward } from '../kernels/rmsnorm.ts';
import { ropeBackwardQK, ropeForwardQK } from '../kernels/rope.ts';
import type { BaseWeight } from '../kernels/weights.ts';
import type { LoraTarget } from './allocations.ts';
import {
  type BlockDims,
  type BlockSaved,
  type BlockScratch,
  type ForwardScratch,
  projectionShape,
} from './block-buffers.ts';
import type { ModelDescription } from './config.ts';

export interface BlockWeights {
  inputNorm: GPUBuffer;
  /** Pre-MLP norm (llama) or the norm of the attention output (gemma2). */
  postAttnNorm: GPUBuffer;
  preFfnNorm: GPUBuffer | null;
  postFfnNorm: GPUBuffer | null;
  qNorm: GPUBuffer | null;
  kNorm: GPUBuffer | null;
  proj: Record<LoraTarget, BaseWeight>;
  bias: { q_proj: GPUBuffer; k_proj: GPUBuffer; v_proj: GPUBuffer } | null;
}

/** A trainable adapter on one projection: A [R, K], B [M, R], their gradients, scale s and a dropout stream id. */
export interface LoraParams {
  A: GPUBuffer;
  B: GPUBuffer;
  dA: GPUBuffer;
  dB: GPUBuffer;
  R: number;
  scale: number;
  moduleId: number;
}

export type BlockLora = Partial<Record<LoraTarget, LoraParams>>;

export interface BlockContext {
  rt: GpuRuntime;
  rec: Recorder;
  d: ModelDescription;
  layer: number;
  dims: BlockDims;
  /** u32 [N] RoPE positions, and the uploaded frequency table. */
  positions: GPUBuffer;
  ropeTurns: GPUBuffer;
  /** u32 [N] segment ids when examples are packed into rows. */
  segments?: GPUBuffer;
  lora: BlockLora;
  /** Dropout probability and this micro-batch's seed (p = 0: none). */
  dropout: { p: number; seed: number };
  /**
   * Replaces the training attention (generation: append k/v to the KV cache and attend over it).
   * q, k, v are after RoPE; att receives [N, H·D].
   */
  attend?: (q: GPUBuffer, k: GPUBuffer, v: GPUBuffer, att: GPUBuffer) => Promise<void>;
}

function dropoutFor(c: BlockContext, ad: LoraParams): LoraDropout | undefined {
  return c.dropout.p > 0 ? { p: c.dropout.p, seed: c.dropout.seed, moduleId: ad.moduleId } : undefined;
}

/** y = x·Wᵀ (+ b) (+ s·(x·Aᵀ)·Bᵀ, saving u). */
async function project(
  c: BlockContext,
  w: BlockWeights,
  target: LoraTarget,
  x: GPUBuffer,
  y: GPUBuffer,
  saved: BlockSaved,
  scratch: ForwardScratch,
): Promise<void> {
  const { K, M } = projectionShape(c.dims, target);
  const N = c.dims.N;
  const bias =
    w.bias && (target === 'q_proj' || target === 'k_proj' || target === 'v_proj') ? w.bias[target] : undefined;
  await linearForward(c.rt, c.rec, { x, w: w.proj[target], y, ...(bias ? { bias } : {}), N, K, M });
  const ad = c.lora[target];
  if (!ad) return;
  const dropout = dropoutFor(c, ad);
  await loraForward(c.rt, c.rec, {
    x,
    A: ad.A,
    B: ad.B,
    y,
    u: saved.u[target]!,
    scale: ad.scale,
    scratch: scratch.lora,
    N,
    K,
    M,
    R: ad.R,
    ...(dropout ? { dropout } : {}),
  });
}

/** dx (+)= dy·W, and the adapter's dA, dB (accumulated) and its share of dx. */
async function projectBackward(
  c: BlockContext,
  w: BlockWeights,
  target: LoraTarget,
  x: GPUBuffer,
  dy: GPUBuffer,
  dx: GPUBuffer,
  accumulate: boolean,
  saved: BlockSaved,
  scratch: BlockScratch,
): Promise<void> {
  const { K, M } = projectionShape(c.dims, target);
  const N = c.dims.N;
  await linearBackwardInput(c.rt, c.rec, { dy, w: w.proj[target], dx, N, K, M, accumulate });
  const ad = c.lora[target];
  if (!ad) return;
  const dropout = dropoutFor(c, ad);
  await loraBackward(c.rt, c.rec, {
    x,
    A: ad.A,
    B: ad.B,
    u: saved.u[target]!,
    dy,
    dA: ad.dA,
    dB: ad.dB,
    du: scratch.du,
    dx,
    scale: ad.scale,
    scratch: scratch.lora,
    accumulate: true,
    N,
    K,
    M,
    R: ad.R,
    ...(dropout ? { dropout } : {}),
  });
}

function attentionShape(c: BlockContext) {
  const { B, T, H, Hkv, D } = c.dims;
  const window = c.d.windowPerLayer[c.layer] ?? 0;
  return {
    B,
    T,
    H,
    Hkv,
    D,
    scale: c.d.attnScale,
    window,
    softcap: c.d.attnSoftcap ?? 0,
    ...(c.segments ? { segments: c.segments } : {}),
  };
}

/** out = block(x). */
export async function blockForward(
  c: BlockContext,
  w: BlockWeights,
  x: GPUBuffer,
  out: GPUBuffer,
  s: BlockSaved,
  scratch: ForwardScratch,
): Promise<void> {
  const { rt, rec, d, dims } = c;
  const { N, C, H, Hkv, D } = dims;
  const eps = d.rmsEps;
  const gemma = d.normPlusOne;

  await rmsnormForward(rt, rec, { x, w: w.inputNorm, y: s.h1, rstd: s.rstd1, N, C, eps, gemma });
  await project(c, w, 'q_proj', s.h1, s.qPre ?? s.q, s, scratch);
  await project(c, w, 'k_proj', s.h1, s.kPre ?? s.k, s, scratch);
  await project(c, w, 'v_proj', s.h1, s.v, s, scratch);
  if (s.qPre && s.kPre && w.qNorm && w.kNorm) {
    await rmsnormForward(rt, rec, { x: s.qPre, w: w.qNorm, y: s.q, rstd: s.rstdQ!, N: N * H, C: D, eps });
    await rmsnormForward(rt, rec, { x: s.kPre, w: w.kNorm, y: s.k, rstd: s.rstdK!, N: N * Hkv, C: D, eps });
  }
  await ropeForwardQK(rt, rec, {
    tokens: N,
    H,
    Hkv,
    D,
    rotDim: d.rotaryDim,
    positions: c.positions,
    turns: c.ropeTurns,
    q: s.q,
    k: s.k,
  });
  if (c.attend) await c.attend(s.q, s.k, s.v, s.att);
  else await attentionForward(rt, rec, { ...attentionShape(c), q: s.q, k: s.k, v: s.v, out: s.att, lse: s.lse });
  await project(c, w, 'o_proj', s.att, s.o, s, scratch);
  if (d.sandwichNorms) {
    // gemma2: the attention output is normed before the residual; scratch.dO holds the normed copy.
    await rmsnormForward(rt, rec, { x: s.o, w: w.postAttnNorm, y: scratch.dO, rstd: s.rstdO!, N, C, eps, gemma });
    await residualForward(rt, rec, { a: x, b: scratch.dO, y: s.x2, count: N * C });
  } else {
    await residualForward(rt, rec, { a: x, b: s.o, y: s.x2, count: N * C });
  }
  await rmsnormForward(rt, rec, {
    x: s.x2,
    w: d.sandwichNorms ? w.preFfnNorm! : w.postAttnNorm,
    y: s.h2,
    rstd: s.rstd2,
    N,
    C,
    eps,
    gemma,
  });
  await project(c, w, 'gate_proj', s.h2, s.gate, s, scratch);
  await project(c, w, 'up_proj', s.h2, s.up, s, scratch);
  await gluForward(rt, rec, { gate: s.gate, up: s.up, out: s.act, N, I: dims.I, act: d.activation });
  await project(c, w, 'down_proj', s.act, s.down, s, scratch);
  if (d.sandwichNorms) {
    await rmsnormForward(rt, rec, { x: s.down, w: w.postFfnNorm!, y: scratch.dO, rstd: s.rstdD!, N, C, eps, gemma });
    await residualForward(rt, rec, { a: s.x2, b: scratch.dO, y: out, count: N * C });
  } else {
    await residualForward(rt, rec, { a: s.x2, b: s.down, y: out, count: N * C });
  }
}

/** dx = ∂L/∂x given dout = ∂L/∂out; LoRA gradients are added into each adapter's dA, dB. `dout` is not modified. */
export async function blockBackward(
  c: BlockContext,
  w: BlockWeights,
  x: GPUBuffer,
  dout: GPUBuffer,
  dx: GPUBuffer,
  s: BlockSaved,
  g: BlockScratch,
): Promise<void> {
  const { rt, rec, d, dims } = c;
  const { N, C, H, Hkv, D, I } = dims;
  const eps = d.rmsEps;
  const gemma = d.normPlusOne;

  // MLP branch: out = x2 + [norm](down).
  let dDown = dout;
  if (d.sandwichNorms) {
    await rmsnormBackward(rt, rec, {
      x: s.down,
      w: w.postFfnNorm!,
      rstd: s.rstdD!,
      dy: dout,
      dx: g.dO,
      N,
      C,
      eps,
      gemma,
    });
    dDown = g.dO;
  }
  await projectBackward(c, w, 'down_proj', s.act, dDown, g.dAct, false, s, g);
  await gluBackward(rt, rec, {
    gate: s.gate,
    up: s.up,
    dout: g.dAct,
    dgate: g.dGate,
    dup: g.dUp,
    N,
    I,
    act: d.activation,
  });
  await projectBackward(c, w, 'gate_proj', s.h2, g.dGate, g.dh, false, s, g);
  await projectBackward(c, w, 'up_proj', s.h2, g.dUp, g.dh, true, s, g);
  // dx2 = dout + norm'(dh)
  rec.copy(dout, g.dx2, N * C * 4);
  await rmsnormBackward(rt, rec, {
    x: s.x2,
    w: d.sandwichNorms ? w.preFfnNorm! : w.postAttnNorm,
    rstd: s.rstd2,
    dy: g.dh,
    dx: g.dx2,
    N,
    C,
    eps,
    gemma,
    accumulate: true,
  });

  // Attention branch: x2 = x + [norm](o).
  let dOut = g.dx2;
  if (d.sandwichNorms) {
    await rmsnormBackward(rt, rec, {
      x: s.o,
      w: w.postAttnNorm,
      rstd: s.rstdO!,
      dy: g.dx2,
      dx: g.dO,
      N,
      C,
      eps,
      gemma,
    });
    dOut = g.dO;
  }
  await projectBackward(c, w, 'o_proj', s.att, dOut, g.dAtt, false, s, g);
  await attentionBackward(rt, rec, {
    ...attentionShape(c),
    q: s.q,
    k: s.k,
    v: s.v,
    out: s.att,
    lse: s.lse,
    dout: g.dAtt,
    stats: g.stats,
    dq: g.dq,
    dk: g.dk,
    dv: g.dv,
  });
  await ropeBackwardQK(rt, rec, {
    tokens: N,
    H,
    Hkv,
    D,
    rotDim: d.rotaryDim,
    positions: c.positions,
    turns: c.ropeTurns,
    dq: g.dq,
    dk: g.dk,
  });
  let dq = g.dq;
  let dk = g.dk;
  if (s.qPre && s.kPre && g.dqPre && g.dkPre) {
    await rmsnormBackward(rt, rec, {
      x: s.qPre,
      w: w.qNorm!,
      rstd: s.rstdQ!,
      dy: g.dq,
      dx: g.dqPre,
      N: N * H,
      C: D,
      eps,
    });
    await rmsnormBackward(rt, rec, {
      x: s.kPre,
      w: w.kNorm!,
      rstd: s.rstdK!,
      dy: g.dk,
      dx: g.dkPre,
      N: N * Hkv,
      C: D,
      eps,
    });
    dq = g.dqPre;
    dk = g.dkPre;
  }
  await projectBackward(c, w, 'q_proj', s.h1, dq, g.dh, false, s, g);
  await projectBackward(c, w, 'k_proj', s.h1, dk, g.dh, true, s, g);
  await projectBackward(c, w, 'v_proj', s.h1, g.dv, g.dh, true, s, g);
  // dx = dx2 + norm'(dh)
  if (dx !== g.dx2) rec.copy(g.dx2, dx, N * C * 4);
  await rmsnormBackward(rt, rec, {
    x,
    w: w.inputNorm,
    rstd: s.rstd1,
    dy: g.dh,
    dx,
    N,
    C,
    eps,
    gemma,
    accumulate: true,
  });
}
