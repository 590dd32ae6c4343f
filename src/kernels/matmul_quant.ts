/**
 * Linear-layer matmuls with a block-quantized base weight, dequantized tile by tile in workgroup memory (no
 * dequantized copy of W exists): GGUF Q8_0 / Q4_0 and bitsandbytes NF4 (shaders/matmul_quant.wgsl), GGUF K-quants
 * Q2_K .. Q6_K read as stored (shaders/matmul_kquant.wgsl):
 *   forward          y[N, M]  = x[N, K] · dequant(W)[M, K]ᵀ (+ b[M])
 *   backward_input   dx[N, K] = dy[N, M] · dequant(W)[M, K]          (optionally accumulated into dx)
 * K must be a multiple of the block (32; 64 for NF4; 256 for K-quants); N and M are free (N = 1 is decode). W is
 * split into row chunks when an array exceeds `maxStorageBufferBindingSize` (or the `maxBindingBytes` option).
 */
import kquantSource from '../../shaders/matmul_kquant.wgsl';
import source from '../../shaders/matmul_quant.wgsl';
import { isKQuantFormat } from '../formats/quant-blocks.ts';
import type { Recorder } from '../gpu/recorder.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { defineShader } from '../gpu/shader.ts';
import {
  type WeightBackwardInputArgs,
  type WeightForwardArgs,
  type WeightMatmulKernel,
  type WeightMatmulOptions,
  type WeightMatmulTiles,
  WEIGHT_MATMUL_PARAMS,
  checkTiles,
  weightMatmulBackwardInput,
  weightMatmulForward,
} from './weight-chunks.ts';
import type { QuantWeight } from './weights.ts';

export const MATMUL_QUANT_SHADER = defineShader('matmul_quant', source, WEIGHT_MATMUL_PARAMS);
export const MATMUL_KQUANT_SHADER = defineShader('matmul_kquant', kquantSource, WEIGHT_MATMUL_PARAMS);

/**
 * As matmul.wgsl: 64 × 64 outputs per workgroup, 16 deep (8 KiB of workgroup memory). A deeper TILE_K adds little
 * on GPUs and multiplies compile time on SwiftShader, which unrolls the reduction loop.
 */
export const DEFAULT_QUANT_TILES: WeightMatmulTiles = { WG_X: 16, WG_Y: 16, TILE_K: 16 };

/** W is staged in groups of 4 values along K, so a forward tile's depth TILE_K must be a multiple of 4. */
function checkBlockTiles(where: string, t: WeightMatmulTiles): void {
  checkTiles(where, t);
  if (t.TILE_K % 4 !== 0)
    throw new RangeError(`${where}: TILE_K must be a multiple of 4 for block formats, got ${t.TILE_K}`);
}

const KERNEL: WeightMatmulKernel = {
  shader: MATMUL_QUANT_SHADER,
  defaultTiles: DEFAULT_QUANT_TILES,
  checkTiles: checkBlockTiles,
};

const KQUANT_KERNEL: WeightMatmulKernel = { ...KERNEL, shader: MATMUL_KQUANT_SHADER };

const kernelFor = (w: QuantWeight): WeightMatmulKernel => (isKQuantFormat(w.format) ? KQUANT_KERNEL : KERNEL);

export type QuantForwardArgs = WeightForwardArgs<QuantWeight>;
export type QuantBackwardInputArgs = WeightBackwardInputArgs<QuantWeight>;

export function matmulQuantForward(
  rt: GpuRuntime,
  rec: Recorder,
  a: QuantForwardArgs,
  opts: WeightMatmulOptions = {},
): Promise<void> {
  return weightMatmulForward(rt, rec, kernelFor(a.w), a, opts);
}

export function matmulQuantBackwardInput(
  rt: GpuRuntime,
  rec: Recorder,
  a: QuantBackwardInputArgs,
  opts: WeightMatmulOptions = {},
): Promise<void> {
  return weightMatmulBackwardInput(rt, rec, kernelFor(a.w), a, opts);
}
