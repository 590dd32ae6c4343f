/**
 * Dense f32 linear-layer matmuls (shaders/matmul.wgsl):
 *   forward          y[N, M]  = x[N, K] · W[M, K]ᵀ (+ b[M])
 *   backward_input   dx[N, K] = dy[N, M] · W[M, K]          (optionally accumulated into dx)
 *   backward_weight  dW[M, K] = dy[N, M]ᵀ · x[N, K]         (optionally accumulated into dW)
 */
import source from '../../shaders/matmul.wgsl';
import type { Recorder } from '../gpu/recorder.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { defineShader } from '../gpu/shader.ts';

export const MATMUL_SHADER = defineShader('matmul', source, {
  rows: 'u32',
  cols: 'u32',
  inner: 'u32',
  a_row: 'u32',
  a_inner: 'u32',
  b_inner: 'u32',
  b_col: 'u32',
  accumulate: 'u32',
  has_bias: 'u32',
});

/** Workgroup shape: each invocation computes a 4×4 block, so a workgroup covers (4·WG_Y) × (4·WG_X) outputs. */
export interface MatmulTiles {
  WG_X: number;
  WG_Y: number;
  TILE_K: number;
}

export const DEFAULT_MATMUL_TILES: MatmulTiles = { WG_X: 16, WG_Y: 16, TILE_K: 16 };

interface Strided {
  rows: number;
  cols: number;
  inner: number;
  aRow: number;
  aInner: number;
  bInner: number;
  bCol: number;
  accumulate: boolean;
  hasBias?: boolean;
}

function params(s: Strided): ArrayBuffer {
  return MATMUL_SHADER.params.pack({
    rows: s.rows,
    cols: s.cols,
    inner: s.inner,
    a_row: s.aRow,
    a_inner: s.aInner,
    b_inner: s.bInner,
    b_col: s.bCol,
    accumulate: s.accumulate ? 1 : 0,
    has_bias: s.hasBias ? 1 : 0,
  });
}

function workgroups(s: Strided, t: MatmulTiles): [number, number] {
  return [Math.ceil(s.cols / (4 * t.WG_X)), Math.ceil(s.rows / (4 * t.WG_Y))];
}

async function record(
  rt: GpuRuntime,
  rec: Recorder,
  entryPoint: string,
  s: Strided,
  buffers: GPUBuffer[],
  tiles: MatmulTiles,
): Promise<void> {
  if (s.rows === 0 || s.cols === 0) return;
  // The contiguous axis of each operand is a pipeline constant, so tile loads need no runtime branch.
  const constants = {
    ...tiles,
    A_INNER_CONTIGUOUS: s.aInner === 1 ? 1 : 0,
    B_INNER_CONTIGUOUS: s.bInner === 1 ? 1 : 0,
  };
  const pipeline = await rt.pipelines.get({ shader: MATMUL_SHADER, entryPoint, constants });
  rec.dispatch({ label: entryPoint, pipeline, buffers, params: params(s), workgroups: workgroups(s, tiles) });
}

export interface MatmulForwardArgs {
  x: GPUBuffer;
  w: GPUBuffer;
  y: GPUBuffer;
  bias?: GPUBuffer;
  N: number;
  K: number;
  M: number;
}

export function matmulForward(
  rt: GpuRuntime,
  rec: Recorder,
  a: MatmulForwardArgs,
  tiles = DEFAULT_MATMUL_TILES,
): Promise<void> {
  const s: Strided = {
    rows: a.N,
    cols: a.M,
    inner: a.K,
    aRow: a.K,
    aInner: 1,
    bInner: 1,
    bCol: a.K,
    accumulate: false,
    hasBias: Boolean(a.bias),
  };
  // Without a bias the binding still needs a buffer; the shader never reads it (has_bias = 0).
  return record(rt, rec, 'matmul_forward', s, [a.x, a.w, a.y, a.bias ?? rt.unusedBinding], tiles);
}

export interface MatmulBackwardInputArgs {
  dy: GPUBuffer;
  w: GPUBuffer;
  dx: GPUBuffer;
  N: number;
  K: number;
  M: number;
  accumulate?: boolean;
}

export function matmulBackwardInput(
  rt: GpuRuntime,
  rec: Recorder,
  a: MatmulBackwardInputArgs,
  tiles = DEFAULT_MATMUL_TILES,
): Promise<void> {
  const s: Strided = {
    rows: a.N,
    cols: a.K,
    inner: a.M,
    aRow: a.M,
    aInner: 1,
    bInner: a.K,
    bCol: 1,
    accumulate: Boolean(a.accumulate),
  };
  return record(rt, rec, 'matmul_backward_input', s, [a.dy, a.w, a.dx], tiles);
}

export interface MatmulBackwardWeightArgs {
  dy: GPUBuffer;
  x: GPUBuffer;
  dw: GPUBuffer;
  N: number;
  K: number;
  M: number;
  accumulate?: boolean;
}

export function matmulBackwardWeight(
  rt: GpuRuntime,
  rec: Recorder,
  a: MatmulBackwardWeightArgs,
  tiles = DEFAULT_MATMUL_TILES,
): Promise<void> {
  const s: Strided = {
    rows: a.M,
    cols: a.K,
    inner: a.N,
    aRow: 1,
    aInner: a.M,
    bInner: a.K,
    bCol: 1,
    accumulate: Boolean(a.accumulate),
  };
  return record(rt, rec, 'matmul_backward_weight', s, [a.dy, a.x, a.dw], tiles);
}
