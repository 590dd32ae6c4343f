/**
 * Linear-layer matmuls with a block-quantized base weight (shaders/matmul_quant.wgsl): GGUF Q8_0 / Q4_0 and
 * bitsandbytes NF4, dequantized tile by tile in workgroup memory (no dequantized copy of W exists):
 *   forward          y[N, M]  = x[N, K] · dequant(W)[M, K]ᵀ (+ b[M])
 *   backward_input   dx[N, K] = dy[N, M] · dequant(W)[M, K]          (optionally accumulated into dx)
 * K must be a multiple of the block (32; 64 for NF4); N and M are free. W is split into row chunks when an array
 * exceeds `maxStorageBufferBindingSize` (or the `maxBindingBytes` option).
 */
import source from '../../shaders/matmul_quant.wgsl';
import type { Recorder } from '../gpu/recorder.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { defineShader } from '../gpu/shader.ts';
import { type WeightMatmulOptions, type WeightMatmulTiles, bindingLimits, checkShape, checkTiles, recordWeightMatmul } from './weight-chunks.ts';
import { type QuantWeight, validateWeight, weightArrays } from './weights.ts';

export const MATMUL_QUANT_SHADER = defineShader('matmul_quant', source);

/**
 * As matmul.wgsl: 64 × 64 outputs per workgroup, 16 deep (8 KiB of workgroup memory). A deeper TILE_K adds little
 * on GPUs and multiplies compile time on SwiftShader, which unrolls the reduction loop.
 */
export const DEFAULT_QUANT_TILES: WeightMatmulTiles = { WG_X: 16, WG_Y: 16, TILE_K: 16 };

export interface QuantForwardArgs {
  x: GPUBuffer;
  w: QuantWeight;
  y: GPUBuffer;
  bias?: GPUBuffer;
  N: number;
  K: number;
  M: number;
}

export interface QuantBackwardInputArgs {
  dy: GPUBuffer;
  w: QuantWeight;
  dx: GPUBuffer;
  N: number;
  K: number;
  M: number;
  accumulate?: boolean;
}

/** W is staged in groups of 4 values along K, so a forward tile's depth TILE_K must be a multiple of 4. */
function checkBlockTiles(where: string, t: WeightMatmulTiles): void {
  checkTiles(where, t);
  if (t.TILE_K % 4 !== 0) throw new RangeError(`${where}: TILE_K must be a multiple of 4 for block formats, got ${t.TILE_K}`);
}

export async function matmulQuantForward(rt: GpuRuntime, rec: Recorder, a: QuantForwardArgs, opts: WeightMatmulOptions = {}): Promise<void> {
  const entryPoint = `matmul_${a.w.format}_forward`;
  validateWeight(a.w, entryPoint);
  checkShape(entryPoint, a.w, a.K, a.M);
  const tiles = opts.tiles ?? DEFAULT_QUANT_TILES;
  checkBlockTiles(entryPoint, tiles);
  return recordWeightMatmul(rt, rec, {
    shader: MATMUL_QUANT_SHADER,
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

export async function matmulQuantBackwardInput(rt: GpuRuntime, rec: Recorder, a: QuantBackwardInputArgs, opts: WeightMatmulOptions = {}): Promise<void> {
  const entryPoint = `matmul_${a.w.format}_backward_input`;
  validateWeight(a.w, entryPoint);
  checkShape(entryPoint, a.w, a.K, a.M);
  const tiles = opts.tiles ?? DEFAULT_QUANT_TILES;
  checkBlockTiles(entryPoint, tiles);
  return recordWeightMatmul(rt, rec, {
    shader: MATMUL_QUANT_SHADER,
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
