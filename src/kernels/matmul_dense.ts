/**
 * Linear-layer matmuls with a dense base weight stored as raw u32 words (shaders/matmul_dense.wgsl):
 *   forward          y[N, M]  = x[N, K] · W[M, K]ᵀ (+ b[M])
 *   backward_input   dx[N, K] = dy[N, M] · W[M, K]          (optionally accumulated into dx)
 * W is f16 or bf16 (two per u32, the safetensors bytes), or f32 (the path src/kernels/linear.ts takes for an f32
 * weight larger than one binding; smaller f32 weights use src/kernels/matmul.ts). W is split into row chunks
 * when it exceeds `maxStorageBufferBindingSize` (or the `maxBindingBytes` option).
 */
import source from '../../shaders/matmul_dense.wgsl';
import type { Recorder } from '../gpu/recorder.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { defineShader } from '../gpu/shader.ts';
import { type WeightMatmulOptions, type WeightMatmulTiles, bindingLimits, checkShape, checkTiles, recordWeightMatmul } from './weight-chunks.ts';
import { type DenseWeight, validateWeight, weightArrays } from './weights.ts';

export const MATMUL_DENSE_SHADER = defineShader('matmul_dense', source);

/** Workgroup shape: each invocation computes a 4×4 block, a workgroup (4·WG_Y) × (4·WG_X) outputs. */
export const DEFAULT_DENSE_TILES: WeightMatmulTiles = { WG_X: 16, WG_Y: 16, TILE_K: 16 };

export interface DenseForwardArgs {
  x: GPUBuffer;
  w: DenseWeight;
  y: GPUBuffer;
  bias?: GPUBuffer;
  N: number;
  K: number;
  M: number;
}

export interface DenseBackwardInputArgs {
  dy: GPUBuffer;
  w: DenseWeight;
  dx: GPUBuffer;
  N: number;
  K: number;
  M: number;
  accumulate?: boolean;
}

export async function matmulDenseForward(rt: GpuRuntime, rec: Recorder, a: DenseForwardArgs, opts: WeightMatmulOptions = {}): Promise<void> {
  const entryPoint = `matmul_${a.w.format}_forward`;
  validateWeight(a.w, entryPoint);
  checkShape(entryPoint, a.w, a.K, a.M);
  const tiles = opts.tiles ?? DEFAULT_DENSE_TILES;
  checkTiles(entryPoint, tiles);
  return recordWeightMatmul(rt, rec, {
    shader: MATMUL_DENSE_SHADER,
    entryPoint,
    direction: 'forward',
    a: a.x,
    out: a.y,
    ...(a.bias ? { bias: a.bias } : {}),
    N: a.N,
    K: a.K,
    M: a.M,
    arrays: weightArrays(a.w),
    limits: bindingLimits(rt, opts.maxBindingBytes),
    tiles,
  });
}

export async function matmulDenseBackwardInput(rt: GpuRuntime, rec: Recorder, a: DenseBackwardInputArgs, opts: WeightMatmulOptions = {}): Promise<void> {
  const entryPoint = `matmul_${a.w.format}_backward_input`;
  validateWeight(a.w, entryPoint);
  checkShape(entryPoint, a.w, a.K, a.M);
  const tiles = opts.tiles ?? DEFAULT_DENSE_TILES;
  checkTiles(entryPoint, tiles);
  return recordWeightMatmul(rt, rec, {
    shader: MATMUL_DENSE_SHADER,
    entryPoint,
    direction: 'backward_input',
    a: a.dy,
    out: a.dx,
    N: a.N,
    K: a.K,
    M: a.M,
    accumulate: Boolean(a.accumulate),
    arrays: weightArrays(a.w),
    limits: bindingLimits(rt, opts.maxBindingBytes),
    tiles,
  });
}
