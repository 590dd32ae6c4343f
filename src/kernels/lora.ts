/**
 * LoRA on a linear layer (shaders/lora.wgsl): y += s · (dropout(x) · Aᵀ) · Bᵀ.
 * Shapes: x [N, K], A [R, K], B [M, R], y [N, M], u [N, R], dy [N, M], dx [N, K].
 *   loraForward   u = xd·Aᵀ (saved), then y (+)= s·u·Bᵀ on top of what the base matmul wrote
 *   loraBackward  dB (+)= s·dyᵀ·u,  du = s·dy·B,  dA (+)= duᵀ·xd,  dx (+)= keep ∘ (du·A) / (1 − p)
 * The tall-skinny products ([N, R] and [R, K] / [M, R] outputs with long reductions) use a split-K kernel whose
 * workgroup tile spans all R columns; when a product is split, partials go through `scratch` and one reduction pass.
 * Dropout masks are regenerated from (seed, moduleId, row n, column k) by a counter-based hash (see the shader header).
 */
import source from '../../shaders/lora.wgsl';
import type { Recorder } from '../gpu/recorder.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { defineShader } from '../gpu/shader.ts';
import { deviceGrid, nextPow2, requireFloats } from './grid.ts';

export const LORA_SHADER = defineShader('lora', source, {
  n: 'u32',
  k: 'u32',
  m: 'u32',
  r: 'u32',
  split_len: 'u32',
  split_out: 'u32',
  scale: 'f32',
  accumulate: 'u32',
  dropout: 'u32',
  seed: 'u32',
  module_id: 'u32',
  threshold: 'u32',
  keep_scale: 'f32',
  count: 'u32',
  splits: 'u32',
});

export interface LoraShape {
  N: number;
  K: number;
  M: number;
  R: number;
}

export interface LoraDropout {
  /** Drop probability in [0, 1); 0 disables dropout (no hashing at all). */
  p: number;
  /** Per optimizer step / micro-batch; a u32. */
  seed: number;
  /** Per (layer, module); a u32. */
  moduleId: number;
}

export interface LoraOptions {
  /** Split the long reduction of a skinny product until about this many workgroups run. */
  targetWorkgroups?: number;
  /** Never split a reduction into pieces shorter than this. */
  minSplitLen?: number;
  /** Rank-update tile: (4·WG_X) × (4·WG_Y) outputs per workgroup, TILE_K deep in R. */
  rankUpdate?: { WG_X: number; WG_Y: number; TILE_K: number };
}

const DEFAULTS = { targetWorkgroups: 256, minSplitLen: 256, rankUpdate: { WG_X: 16, WG_Y: 16, TILE_K: 16 } };
const REDUCE_WG = 256;
/** WebGPU's guaranteed workgroup memory; the skinny tiles are sized to fit it. */
const WORKGROUP_FLOATS = 4096;

/** Skinny-kernel tile for rank R: BR = 4·SK_WG_C ≥ R columns (up to 64) so the big operand is read once. */
export function skinnyTiles(R: number): { SK_WG_C: number; SK_WG_R: number; SK_TILE_K: number } {
  const SK_WG_C = Math.min(16, nextPow2(Math.ceil(Math.max(R, 1) / 4)));
  const SK_WG_R = Math.max(16, 64 / SK_WG_C);
  const rowsAndCols = 4 * (SK_WG_R + SK_WG_C);
  let SK_TILE_K = 16;
  while (SK_TILE_K * rowsAndCols > WORKGROUP_FLOATS) SK_TILE_K /= 2;
  return { SK_WG_C, SK_WG_R, SK_TILE_K };
}

type SkinnyMode = 'down' | 'db' | 'du' | 'da';

interface SkinnyPlan {
  rows: number;
  inner: number;
  splits: number;
  splitLen: number;
  workgroups: [number, number, number];
}

function skinnyDims(mode: SkinnyMode, s: LoraShape): { rows: number; inner: number } {
  switch (mode) {
    case 'down':
      return { rows: s.N, inner: s.K };
    case 'db':
      return { rows: s.M, inner: s.N };
    case 'du':
      return { rows: s.N, inner: s.M };
    case 'da':
      return { rows: s.K, inner: s.N };
  }
}

function planSkinny(mode: SkinnyMode, s: LoraShape, opts: LoraOptions): SkinnyPlan {
  const { rows, inner } = skinnyDims(mode, s);
  const t = skinnyTiles(s.R);
  const tilesC = Math.ceil(s.R / (4 * t.SK_WG_C));
  const tilesR = Math.ceil(rows / (4 * t.SK_WG_R));
  const target = opts.targetWorkgroups ?? DEFAULTS.targetWorkgroups;
  const minLen = opts.minSplitLen ?? DEFAULTS.minSplitLen;
  const wanted = Math.max(1, Math.min(Math.ceil(target / Math.max(1, tilesC * tilesR)), Math.floor(inner / minLen)));
  const splitLen = Math.max(t.SK_TILE_K, Math.ceil(Math.ceil(inner / wanted) / t.SK_TILE_K) * t.SK_TILE_K);
  const splits = Math.max(1, Math.ceil(inner / splitLen));
  return { rows, inner, splits, splitLen, workgroups: [tilesC, tilesR, splits] };
}

/** Floats of split-K scratch that loraForward + loraBackward need for this shape (pass at least this many). */
export function loraScratchFloats(s: LoraShape, opts: LoraOptions = {}): number {
  let most = 1;
  for (const mode of ['down', 'db', 'du', 'da'] as const) {
    const p = planSkinny(mode, s, opts);
    if (p.splits > 1) most = Math.max(most, p.splits * p.rows * s.R);
  }
  return most;
}

/** Dropout threshold: keep iff hash ≥ round(p · 2³²), so the keep rate is 1 − p. */
export function dropoutThreshold(p: number): number {
  if (!(p >= 0 && p < 1)) throw new RangeError(`LoRA dropout must be in [0, 1), got ${p}`);
  return Math.min(0xffffffff, Math.round(p * 2 ** 32));
}

interface Common {
  scale: number;
  accumulate: boolean;
  splitLen?: number;
  splitOut?: boolean;
  count?: number;
  splits?: number;
}

function params(s: LoraShape, d: LoraDropout | undefined, c: Common): ArrayBuffer {
  const on = d !== undefined && d.p > 0;
  return LORA_SHADER.params.pack({
    n: s.N,
    k: s.K,
    m: s.M,
    r: s.R,
    split_len: c.splitLen ?? 0,
    split_out: c.splitOut ? 1 : 0,
    scale: c.scale,
    accumulate: c.accumulate ? 1 : 0,
    dropout: on ? 1 : 0,
    seed: on ? d.seed >>> 0 : 0,
    module_id: on ? d.moduleId >>> 0 : 0,
    threshold: on ? dropoutThreshold(d.p) : 0,
    keep_scale: on ? 1 / (1 - d.p) : 1,
    count: c.count ?? 0,
    splits: c.splits ?? 0,
  });
}

async function skinny(
  rt: GpuRuntime,
  rec: Recorder,
  mode: SkinnyMode,
  s: LoraShape,
  d: LoraDropout | undefined,
  bufs: { lhs: GPUBuffer; rhs: GPUBuffer; out: GPUBuffer; scratch?: GPUBuffer | undefined },
  scale: number,
  accumulate: boolean,
  opts: LoraOptions,
): Promise<void> {
  const plan = planSkinny(mode, s, opts);
  const count = plan.rows * s.R;
  if (count === 0) return;
  const entryPoint = `lora_${mode === 'down' ? 'forward' : 'backward'}_${mode}`;
  const pipeline = await rt.pipelines.get({ shader: LORA_SHADER, entryPoint, constants: skinnyTiles(s.R) });
  if (plan.splits === 1) {
    rec.dispatch({
      label: entryPoint,
      pipeline,
      buffers: [bufs.lhs, bufs.rhs, bufs.out],
      params: params(s, d, { scale, accumulate, splitLen: plan.splitLen }),
      workgroups: plan.workgroups,
    });
    return;
  }
  if (!bufs.scratch)
    throw new Error(
      `${entryPoint}: this shape splits its reduction ${plan.splits} ways and needs scratch (loraScratchFloats)`,
    );
  requireFloats(`${entryPoint} split scratch`, bufs.scratch, plan.splits * count);
  rec.dispatch({
    label: entryPoint,
    pipeline,
    buffers: [bufs.lhs, bufs.rhs, bufs.scratch],
    params: params(s, d, { scale: 1, accumulate: false, splitLen: plan.splitLen, splitOut: true }),
    workgroups: plan.workgroups,
  });
  const reduce = await rt.pipelines.get({
    shader: LORA_SHADER,
    entryPoint: 'lora_reduce_splits',
    constants: { WG: REDUCE_WG },
  });
  rec.dispatch({
    label: `lora_reduce_splits(${mode})`,
    pipeline: reduce,
    buffers: [bufs.scratch, bufs.out],
    params: params(s, d, { scale, accumulate, count, splits: plan.splits }),
    workgroups: deviceGrid(rt, Math.ceil(count / REDUCE_WG)),
  });
}

async function rankUpdate(
  rt: GpuRuntime,
  rec: Recorder,
  mode: 'up' | 'dx',
  s: LoraShape,
  d: LoraDropout | undefined,
  bufs: { lhs: GPUBuffer; rhs: GPUBuffer; out: GPUBuffer },
  scale: number,
  accumulate: boolean,
  opts: LoraOptions,
): Promise<void> {
  const cols = mode === 'up' ? s.M : s.K;
  if (s.N === 0 || cols === 0) return;
  const t = opts.rankUpdate ?? DEFAULTS.rankUpdate;
  const entryPoint = mode === 'up' ? 'lora_forward_up' : 'lora_backward_dx';
  const pipeline = await rt.pipelines.get({
    shader: LORA_SHADER,
    entryPoint,
    constants: { RU_WG_X: t.WG_X, RU_WG_Y: t.WG_Y, RU_TILE_K: t.TILE_K },
  });
  rec.dispatch({
    label: entryPoint,
    pipeline,
    buffers: [bufs.lhs, bufs.rhs, bufs.out],
    params: params(s, d, { scale, accumulate }),
    workgroups: [Math.ceil(cols / (4 * t.WG_X)), Math.ceil(s.N / (4 * t.WG_Y))],
  });
}

export interface LoraForwardArgs extends LoraShape {
  x: GPUBuffer;
  A: GPUBuffer;
  B: GPUBuffer;
  /** [N, M]: holds the base output; the adapter's term is added (set `overwrite` to write it alone). */
  y: GPUBuffer;
  /** [N, R]: receives u = dropout(x)·Aᵀ, needed by loraBackward. */
  u: GPUBuffer;
  /** s = alpha / R (or alpha / √R with rsLoRA). */
  scale: number;
  dropout?: LoraDropout;
  /** Split-K scratch, at least loraScratchFloats(shape) floats (needed only when a product splits). */
  scratch?: GPUBuffer;
  /** Write y = s·u·Bᵀ instead of adding it. */
  overwrite?: boolean;
}

export async function loraForward(
  rt: GpuRuntime,
  rec: Recorder,
  a: LoraForwardArgs,
  opts: LoraOptions = {},
): Promise<void> {
  await skinny(rt, rec, 'down', a, a.dropout, { lhs: a.x, rhs: a.A, out: a.u, scratch: a.scratch }, 1, false, opts);
  await rankUpdate(rt, rec, 'up', a, a.dropout, { lhs: a.u, rhs: a.B, out: a.y }, a.scale, !a.overwrite, opts);
}

export interface LoraBackwardArgs extends LoraShape {
  x: GPUBuffer;
  A: GPUBuffer;
  B: GPUBuffer;
  /** [N, R] saved by loraForward. */
  u: GPUBuffer;
  dy: GPUBuffer;
  /** [R, K] and [M, R] gradients: overwritten, or added to with `accumulate`. */
  dA: GPUBuffer;
  dB: GPUBuffer;
  /** [N, R] scratch for du = s·dy·B. */
  du: GPUBuffer;
  /** [N, K]: the base layer's input gradient, to which the adapter's part is added; absent: not computed. */
  dx?: GPUBuffer;
  scale: number;
  dropout?: LoraDropout;
  scratch?: GPUBuffer;
  /** Add into dA / dB (gradient accumulation over micro-batches). */
  accumulate?: boolean;
  /** Write dx instead of adding into it. */
  overwriteDx?: boolean;
}

export async function loraBackward(
  rt: GpuRuntime,
  rec: Recorder,
  a: LoraBackwardArgs,
  opts: LoraOptions = {},
): Promise<void> {
  const acc = Boolean(a.accumulate);
  await skinny(rt, rec, 'db', a, a.dropout, { lhs: a.dy, rhs: a.u, out: a.dB, scratch: a.scratch }, a.scale, acc, opts);
  await skinny(
    rt,
    rec,
    'du',
    a,
    a.dropout,
    { lhs: a.dy, rhs: a.B, out: a.du, scratch: a.scratch },
    a.scale,
    false,
    opts,
  );
  await skinny(rt, rec, 'da', a, a.dropout, { lhs: a.x, rhs: a.du, out: a.dA, scratch: a.scratch }, 1, acc, opts);
  if (a.dx) await rankUpdate(rt, rec, 'dx', a, a.dropout, { lhs: a.du, rhs: a.A, out: a.dx }, 1, !a.overwriteDx, opts);
}
