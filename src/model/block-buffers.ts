/**
 * The GPU buffers of one transformer block for N = B·T tokens: what the forward saves for the backward, and the
 * backward's gradients. Shapes use the kernels' vocabulary (C hidden, H/Hkv heads, D head dim, I MLP width, R rank).
 */
import type { GpuRuntime } from '../gpu/runtime.ts';
import { attentionStatsFloats } from '../kernels/attention.ts';
import { loraScratchFloats } from '../kernels/lora.ts';
import type { LoraTarget } from '../schema/model.ts';
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
  return {
    B,
    T,
    N: B * T,
    C: d.hidden,
    H: d.heads,
    Hkv: d.kvHeads,
    D: d.headDim,
    I: d.intermediate,
    q: d.heads * d.headDim,
    kv: d.kvHeads * d.headDim,
  };
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

/** What the forward alone needs of the scratch: a temporary [N, C] and the LoRA split-K scratch. */
export type ForwardScratch = Pick<BlockScratch, 'dO' | 'lora'>;

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

/** One buffer of a block: its field, label and size in f32 values. */
export interface BufferSpec {
  key: string;
  label: string;
  floats: number;
}

/** The buffers the forward saves for the backward (BlockSaved), with their sizes. */
export function savedSpecs(
  d: ModelDescription,
  dims: BlockDims,
  ranks: Partial<Record<LoraTarget, number>>,
): BufferSpec[] {
  const { N, C, q, kv, I, H, Hkv } = dims;
  const qk = d.qkNorm;
  const sandwich = d.sandwichNorms;
  const specs: [string, number][] = [
    ['h1', N * C],
    ['rstd1', N],
    ['qPre', qk ? N * q : 0],
    ['kPre', qk ? N * kv : 0],
    ['rstdQ', qk ? N * H : 0],
    ['rstdK', qk ? N * Hkv : 0],
    ['q', N * q],
    ['k', N * kv],
    ['v', N * kv],
    ['att', N * q],
    ['lse', N * H],
    ['o', N * C],
    ['rstdO', sandwich ? N : 0],
    ['x2', N * C],
    ['h2', N * C],
    ['rstd2', N],
    ['gate', N * I],
    ['up', N * I],
    ['act', N * I],
    ['down', N * C],
    ['rstdD', sandwich ? N : 0],
  ];
  const out = specs.filter(([, f]) => f > 0).map(([key, floats]) => ({ key, label: key, floats }));
  for (const [t, r] of Object.entries(ranks) as [LoraTarget, number][])
    out.push({ key: `u.${t}`, label: `u.${t}`, floats: N * r });
  return out;
}

/** The backward's working buffers (BlockScratch), with their sizes. */
export function scratchSpecs(
  d: ModelDescription,
  dims: BlockDims,
  ranks: Partial<Record<LoraTarget, number>>,
  forwardOnly = false,
): BufferSpec[] {
  const { N, C, q, kv, I } = dims;
  const rMax = Math.max(1, ...Object.values(ranks));
  let loraFloats = 1;
  for (const [t, r] of Object.entries(ranks) as [LoraTarget, number][]) {
    loraFloats = Math.max(loraFloats, loraScratchFloats({ N, ...projectionShape(dims, t), R: r }));
  }
  const specs: [string, string, number][] = [
    ['dx2', 'dx2', N * C],
    ['dh', 'dh', N * C],
    ['dO', 'dO', N * C],
    ['dAct', 'dAct', N * I],
    ['dGate', 'dGate', N * I],
    ['dUp', 'dUp', N * I],
    ['dAtt', 'dAtt', N * q],
    ['dq', 'dq', N * q],
    ['dk', 'dk', N * kv],
    ['dv', 'dv', N * kv],
    ['dqPre', 'dqPre', d.qkNorm ? N * q : 0],
    ['dkPre', 'dkPre', d.qkNorm ? N * kv : 0],
    ['du', 'du', N * rMax],
    ['stats', 'attention-stats', attentionStatsFloats(dims)],
    ['lora', 'lora-scratch', loraFloats],
  ];
  const forward = new Set(['dO', 'lora']);
  return specs
    .filter(([key, , f]) => f > 0 && (!forwardOnly || forward.has(key)))
    .map(([key, label, floats]) => ({ key, label, floats }));
}

function allocate(rt: GpuRuntime, owner: string, specs: BufferSpec[]): Map<string, GPUBuffer> {
  return new Map(specs.map((sp) => [sp.key, rt.memory.create(owner, sp.label, sp.floats * 4).buffer]));
}

export function allocateSaved(
  rt: GpuRuntime,
  owner: string,
  d: ModelDescription,
  dims: BlockDims,
  ranks: Partial<Record<LoraTarget, number>>,
): BlockSaved {
  const b = allocate(rt, owner, savedSpecs(d, dims, ranks));
  const get = (k: string) => b.get(k)!;
  const opt = (k: string) => b.get(k) ?? null;
  const u: BlockSaved['u'] = {};
  for (const t of Object.keys(ranks) as LoraTarget[]) u[t] = get(`u.${t}`);
  return {
    h1: get('h1'),
    rstd1: get('rstd1'),
    qPre: opt('qPre'),
    kPre: opt('kPre'),
    rstdQ: opt('rstdQ'),
    rstdK: opt('rstdK'),
    q: get('q'),
    k: get('k'),
    v: get('v'),
    att: get('att'),
    lse: get('lse'),
    o: get('o'),
    rstdO: opt('rstdO'),
    x2: get('x2'),
    h2: get('h2'),
    rstd2: get('rstd2'),
    gate: get('gate'),
    up: get('up'),
    act: get('act'),
    down: get('down'),
    rstdD: opt('rstdD'),
    u,
  };
}

export function allocateForwardScratch(
  rt: GpuRuntime,
  owner: string,
  d: ModelDescription,
  dims: BlockDims,
  ranks: Partial<Record<LoraTarget, number>>,
): ForwardScratch {
  const b = allocate(rt, owner, scratchSpecs(d, dims, ranks, true));
  return { dO: b.get('dO')!, lora: b.get('lora')! };
}

export function allocateScratch(
  rt: GpuRuntime,
  owner: string,
  d: ModelDescription,
  dims: BlockDims,
  ranks: Partial<Record<LoraTarget, number>>,
): BlockScratch {
  const b = allocate(rt, owner, scratchSpecs(d, dims, ranks));
  const get = (k: string) => b.get(k)!;
  return {
    dx2: get('dx2'),
    dh: get('dh'),
    dO: get('dO'),
    dAct: get('dAct'),
    dGate: get('dGate'),
    dUp: get('dUp'),
    dAtt: get('dAtt'),
    dq: get('dq'),
    dk: get('dk'),
    dv: get('dv'),
    dqPre: b.get('dqPre') ?? null,
    dkPre: b.get('dkPre') ?? null,
    du: get('du'),
    stats: get('stats'),
    lora: get('lora'),
  };
}
