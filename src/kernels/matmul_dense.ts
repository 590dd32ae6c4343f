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
import type { DenseWeight } from './weights.ts';

export const MATMUL_DENSE_SHADER = defineShader('matmul_dense', source, WEIGHT_MATMUL_PARAMS);

/** Workgroup shape: each invocation computes a 4×4 block, a workgroup (4·WG_Y) × (4·WG_X) outputs. */
export const DEFAULT_DENSE_TILES: WeightMatmulTiles = { WG_X: 16, WG_Y: 16, TILE_K: 16 };

const KERNEL: WeightMatmulKernel = { shader: MATMUL_DENSE_SHADER, defaultTiles: DEFAULT_DENSE_TILES, checkTiles };

export type DenseForwardArgs = WeightForwardArgs<DenseWeight>;
export type DenseBackwardInputArgs = WeightBackwardInputArgs<DenseWeight>;

export function matmulDenseForward(
  rt: GpuRuntime,
  rec: Recorder,
  a: DenseForwardArgs,
  opts: WeightMatmulOptions = {},
): Promise<void> {
  return weightMatmulForward(rt, rec, KERNEL, a, opts);
}

export function matmulDenseBackwardInput(
  rt: GpuRuntime,
  rec: Recorder,
  a: DenseBackwardInputArgs,
  opts: WeightMatmulOptions = {},
): Promise<void> {
  return weightMatmulBackwardInput(rt, rec, KERNEL, a, opts);
}
