/**
 * The GPU buffers of one transformer block for N = B·T tokens: what the forward saves for the backward, and the
 * backward's gradients. Shapes use the kernels' vocabulary (C hidden, H/Hkv heads, D head dim, I MLP width, R rank).
 */
import type { GpuRuntime } from '../gpu/runtime.ts';
import { attentionStatsFloats } from '../kernels/attention.ts';
import { loraScratchFloats } from '../kernels/lora.ts';
import type { LoraTarget } from './allocations.ts';
import type { ModelDescription } from './config.ts';

export interface BlockDims {
  B: number;
  T: number;
  N: number;
  C: number;
  H: number;
  Hkv: number;
  D: number;
  I: number;
  /** H·D and Hkv·D */
  q: number;
  kv: number;
}

export function blockDims(d: ModelDescription, B: number, T: number): BlockDims {
  return { B, T, N: B * T, C: d.hidden, H: d.heads, Hkv: d.kvHeads, D: d.headDim, I: d.intermediate, q: d.heads * d.headDim, kv: d.kvHeads * d.headDim };
}

/** In and out features of each projection. */
export function projectionShape(dims: BlockDims, target: LoraTarget): { K: number; M: number } {
  switch (target) {
    case 'q_proj':
      return { K: dims.C, M: dims.q };
    case 'k_proj':
    case 'v_proj':
      return { K: dims.C, M: dims.kv };
    case 'o_proj':
      return { K: dims.q, M: dims.C };
    case 'gate_proj':
    case 'up_proj':
      return { K: dims.C, M: dims.I };
    case 'down_proj':
      return { K: dims.I, M: dims.C };
  }
}

/** Saved activations of the forward. */
export interface BlockSaved {
  h1: GPUBuffer; // input norm output [N, C]
  rstd1: GPUBuffer; // [N]
  qPre: GPUBuffer | null; // qk-norm inputs [N, q], [N, kv] and their rstd
  kPre: GPUBuffer | null;
  rstdQ: GPUBuffer | null;
  rstdK: GPUBuffer | null;
  q: GPUBuffer; // after RoPE [N, H, D]
  k: GPUBuffer; // after RoPE [N, Hkv, D]
  v: GPUBuffer;
  att: GPUBuffer; // attention output [N, H·D]
  lse: GPUBuffer; // [N, H]
  o: GPUBuffer; // attention projection [N, C] (input of the post-attention norm in gemma2)
  rstdO: GPUBuffer | null;
  x2: GPUBuffer; // after the attention residual [N, C]
  h2: GPUBuffer; // MLP norm output [N, C]
  rstd2: GPUBuffer;
  gate: GPUBuffer; // [N, I]
  up: GPUBuffer;
  act: GPUBuffer; // act(gate)·up [N, I]
  down: GPUBuffer; // [N, C]
  rstdD: GPUBuffer | null;
  /** u = dropout(x)·Aᵀ [N, R] per adapted projection */
  u: Partial<Record<LoraTarget, GPUBuffer>>;
}

/** The backward's working buffers (reused by every block). */
export interface BlockScratch {
  dx2: GPUBuffer; // [N, C]
  dh: GPUBuffer; // [N, C]
  dO: GPUBuffer; // [N, C]
  dAct: GPUBuffer; // [N, I]
  dGate: GPUBuffer;
  dUp: GPUBuffer;
  dAtt: GPUBuffer; // [N, q]
  dq: GPUBuffer;
  dk: GPUBuffer; // [N, kv]
  dv: GPUBuffer;
  dqPre: GPUBuffer | null;
  dkPre: GPUBuffer | null;
  du: GPUBuffer; // [N, Rmax]
  stats: GPUBuffer;
  lora: GPUBuffer;
}

const F = 4;

export function allocateSaved(rt: GpuRuntime, owner: string, d: ModelDescription, dims: BlockDims, ranks: Partial<Record<LoraTarget, number>>): BlockSaved {
  const { N, C, q, kv, I, H } = dims;
  const buf = (label: string, floats: number) => rt.memory.create(owner, label, floats * F).buffer;
  const qk = d.qkNorm;
  const sandwich = d.sandwichNorms;
  const u: BlockSaved['u'] = {};
  for (const [t, r] of Object.entries(ranks) as [LoraTarget, number][]) u[t] = buf(`u.${t}`, N * r);
  return {
    h1: buf('h1', N * C),
    rstd1: buf('rstd1', N),
    qPre: qk ? buf('qPre', N * q) : null,
    kPre: qk ? buf('kPre', N * kv) : null,
    rstdQ: qk ? buf('rstdQ', N * dims.H) : null,
    rstdK: qk ? buf('rstdK', N * dims.Hkv) : null,
    q: buf('q', N * q),
    k: buf('k', N * kv),
    v: buf('v', N * kv),
    att: buf('att', N * q),
    lse: buf('lse', N * H),
    o: buf('o', N * C),
    rstdO: sandwich ? buf('rstdO', N) : null,
    x2: buf('x2', N * C),
    h2: buf('h2', N * C),
    rstd2: buf('rstd2', N),
    gate: buf('gate', N * I),
    up: buf('up', N * I),
    act: buf('act', N * I),
    down: buf('down', N * C),
    rstdD: sandwich ? buf('rstdD', N) : null,
    u,
  };
}

export function allocateScratch(rt: GpuRuntime, owner: string, d: ModelDescription, dims: BlockDims, ranks: Partial<Record<LoraTarget, number>>): BlockScratch {
  const { N, C, q, kv, I } = dims;
  const buf = (label: string, floats: number) => rt.memory.create(owner, label, floats * F).buffer;
  const rMax = Math.max(1, ...Object.values(ranks));
  let loraFloats = 1;
  for (const [t, r] of Object.entries(ranks) as [LoraTarget, number][]) {
    loraFloats = Math.max(loraFloats, loraScratchFloats({ N, ...projectionShape(dims, t), R: r }));
  }
  return {
    dx2: buf('dx2', N * C),
    dh: buf('dh', N * C),
    dO: buf('dO', N * C),
    dAct: buf('dAct', N * I),
    dGate: buf('dGate', N * I),
    dUp: buf('dUp', N * I),
    dAtt: buf('dAtt', N * q),
    dq: buf('dq', N * q),
    dk: buf('dk', N * kv),
    dv: buf('dv', N * kv),
    dqPre: d.qkNorm ? buf('dqPre', N * q) : null,
    dkPre: d.qkNorm ? buf('dkPre', N * kv) : null,
    du: buf('du', N * rMax),
    stats: buf('attention-stats', attentionStatsFloats(dims)),
    lora: buf('lora-scratch', loraFloats),
  };
}
