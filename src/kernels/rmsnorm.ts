/**
 * RMSNorm (shaders/rmsnorm.wgsl): y = x · rsqrt(mean(x²) + eps) · g over rows of length C,
 * g = w, or g = 1 + w for gemma. Per-head norms (qwen3 q_norm / k_norm over [T, H, D]) use N = T·H, C = D.
 *   rmsnormForward         y [N, C], rstd [N] (saved for backward)
 *   rmsnormBackward        dx [N, C] (optionally accumulated) — the LoRA path: norm weights are frozen
 *   rmsnormBackwardWeight  dw [C] (optionally accumulated), two passes through a [groups, C] scratch, no atomics
 */
import source from '../../shaders/rmsnorm.wgsl';
import type { Recorder } from '../gpu/recorder.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { defineShader } from '../gpu/shader.ts';
import { deviceGrid, nextPow2, requireFloats } from './grid.ts';

export const RMSNORM_SHADER = defineShader('rmsnorm', source, {
  rows: 'u32',
  cols: 'u32',
  eps: 'f32',
  gemma: 'u32',
  accumulate: 'u32',
  rows_per_group: 'u32',
  groups: 'u32',
});

export interface RmsnormShape {
  /** Rows (T, or T·H for per-head norms). */
  N: number;
  /** Row length (C, or D for per-head norms). */
  C: number;
  eps: number;
  /** Scale by (1 + w) (gemma, gemma2) instead of w. */
  gemma?: boolean;
}

/** Row-kernel workgroup size: about two columns per invocation, a power of two in [32, 256]. */
export function rmsnormRowWorkgroup(C: number): number {
  return Math.min(256, Math.max(32, nextPow2(Math.ceil(C / 2))));
}

/** Weight-gradient tiling: WG_X columns × WG_Y row lanes per workgroup; rows are split into `groups` partial sums. */
export interface RmsnormWeightTiles {
  WG_X: number;
  WG_Y: number;
  /** Upper bound on the number of row groups (rows of the scratch). */
  maxGroups: number;
}

export const DEFAULT_RMSNORM_WEIGHT_TILES: RmsnormWeightTiles = { WG_X: 64, WG_Y: 4, maxGroups: 128 };

function weightGrouping(N: number, tiles: RmsnormWeightTiles): { groups: number; rowsPerGroup: number } {
  // At least 8 rows per lane so a workgroup does real work; at most maxGroups partial rows.
  const groups = Math.max(1, Math.min(tiles.maxGroups, Math.ceil(N / (8 * tiles.WG_Y))));
  const rowsPerGroup = Math.ceil(N / groups);
  return { groups: Math.ceil(N / rowsPerGroup), rowsPerGroup };
}

/** Floats the weight-gradient scratch must hold for an [N, C] input. */
export function rmsnormWeightScratchFloats(N: number, C: number, tiles = DEFAULT_RMSNORM_WEIGHT_TILES): number {
  return weightGrouping(N, tiles).groups * C;
}

function params(s: RmsnormShape, accumulate: boolean, rowsPerGroup = 0, groups = 0): ArrayBuffer {
  return RMSNORM_SHADER.params.pack({
    rows: s.N,
    cols: s.C,
    eps: s.eps,
    gemma: s.gemma ? 1 : 0,
    accumulate: accumulate ? 1 : 0,
    rows_per_group: rowsPerGroup,
    groups,
  });
}

export interface RmsnormForwardArgs extends RmsnormShape {
  x: GPUBuffer;
  w: GPUBuffer;
  y: GPUBuffer;
  rstd: GPUBuffer;
}

/** y[N, C] = x · rstd · g;  rstd[N] saved for backward. */
export async function rmsnormForward(rt: GpuRuntime, rec: Recorder, a: RmsnormForwardArgs): Promise<void> {
  if (a.N === 0 || a.C === 0) return;
  const WG = rmsnormRowWorkgroup(a.C);
  const pipeline = await rt.pipelines.get({ shader: RMSNORM_SHADER, entryPoint: 'rmsnorm_forward', constants: { WG } });
  rec.dispatch({
    label: 'rmsnorm_forward',
    pipeline,
    buffers: [a.x, a.w, a.y, a.rstd],
    params: params(a, false),
    workgroups: deviceGrid(rt, a.N),
  });
}

export interface RmsnormBackwardArgs extends RmsnormShape {
  x: GPUBuffer;
  w: GPUBuffer;
  rstd: GPUBuffer;
  dy: GPUBuffer;
  dx: GPUBuffer;
  /** Add into dx instead of overwriting it. */
  accumulate?: boolean;
}

/** dx[N, C] (+)= ∂L/∂x given dy; the common (frozen-weight) path. */
export async function rmsnormBackward(rt: GpuRuntime, rec: Recorder, a: RmsnormBackwardArgs): Promise<void> {
  if (a.N === 0 || a.C === 0) return;
  const WG = rmsnormRowWorkgroup(a.C);
  const pipeline = await rt.pipelines.get({
    shader: RMSNORM_SHADER,
    entryPoint: 'rmsnorm_backward',
    constants: { WG },
  });
  rec.dispatch({
    label: 'rmsnorm_backward',
    pipeline,
    buffers: [a.x, a.w, a.rstd, a.dy, a.dx],
    params: params(a, Boolean(a.accumulate)),
    workgroups: deviceGrid(rt, a.N),
  });
}

export interface RmsnormBackwardWeightArgs extends RmsnormShape {
  x: GPUBuffer;
  rstd: GPUBuffer;
  dy: GPUBuffer;
  dw: GPUBuffer;
  /** At least rmsnormWeightScratchFloats(N, C) floats. */
  scratch: GPUBuffer;
  /** Add into dw (gradient accumulation) instead of overwriting it. */
  accumulate?: boolean;
}

/** dw[C] (+)= Σ_n dy[n, :] ∘ x[n, :] · rstd[n] (for both g = w and g = 1 + w). */
export async function rmsnormBackwardWeight(
  rt: GpuRuntime,
  rec: Recorder,
  a: RmsnormBackwardWeightArgs,
  tiles = DEFAULT_RMSNORM_WEIGHT_TILES,
): Promise<void> {
  if (a.C === 0) return;
  const { groups, rowsPerGroup } = weightGrouping(Math.max(a.N, 1), tiles);
  requireFloats('rmsnorm weight-gradient scratch', a.scratch, groups * a.C);
  const p = params(a, Boolean(a.accumulate), rowsPerGroup, groups);
  const partial = await rt.pipelines.get({
    shader: RMSNORM_SHADER,
    entryPoint: 'rmsnorm_backward_weight_partial',
    constants: { WG_X: tiles.WG_X, WG_Y: tiles.WG_Y },
  });
  rec.dispatch({
    label: 'rmsnorm_backward_weight_partial',
    pipeline: partial,
    buffers: [a.x, a.rstd, a.dy, a.scratch],
    params: p,
    workgroups: [Math.ceil(a.C / tiles.WG_X), groups],
  });
  const WG = 256;
  const reduce = await rt.pipelines.get({
    shader: RMSNORM_SHADER,
    entryPoint: 'rmsnorm_backward_weight_reduce',
    constants: { WG },
  });
  rec.dispatch({
    label: 'rmsnorm_backward_weight_reduce',
    pipeline: reduce,
    buffers: [a.scratch, a.dw],
    params: p,
    workgroups: deviceGrid(rt, Math.ceil(a.C / WG)),
  });
}
