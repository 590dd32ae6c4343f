/**
 * GPU quantization of a weight loaded from safetensors (shaders/quantize.wgsl): W [M, K] in f32, f16 or bf16
 * (f16 / bf16 as the file's bytes, two per u32) → Q8_0, Q4_0 or NF4 in the GPU block layout of
 * src/kernels/weights.ts. Q8_0 / Q4_0 are byte-identical to ggml's reference quantizers (`joinGgufBlocks` of the
 * result is what llama.cpp's quantize writes without an imatrix); NF4 follows bitsandbytes' quantizer.
 * Sources and outputs larger than one binding are processed in row chunks.
 */
import source from '../../shaders/quantize.wgsl';
import type { Recorder } from '../gpu/recorder.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { defineShader } from '../gpu/shader.ts';
import { BLOCK_VALUES } from '../formats/quant-blocks.ts';
import { bindingLimits, planRowChunks } from './weight-chunks.ts';
import {
  DENSE_BYTES,
  type QuantWeight,
  type QuantizerFormat,
  createQuantWeight,
  isQuantizerFormat,
  validateWeight,
  weightArrays,
} from './weights.ts';

export const QUANTIZE_SHADER = defineShader('quantize', source, { blocks: 'u32', src_format: 'u32', zero: 'u32' });

export type QuantizeSource = 'f32' | 'f16' | 'bf16';

const SRC_FORMAT: Record<QuantizeSource, number> = { f32: 0, f16: 1, bf16: 2 };

export interface QuantizeOptions {
  /** Invocations per workgroup (override WG). */
  workgroupSize?: number;
  /** Upper bound on one binding's bytes, below the device limit (tests use it to force the split path). */
  maxBindingBytes?: number;
  /** Upper bound on workgroups along x, below the device limit (tests use it to force the 2-D dispatch). */
  maxWorkgroupsX?: number;
}

export interface QuantizeArgs {
  /** W [out.rows, out.cols]: f32, or f16 / bf16 two per u32 (element 2i low). */
  src: GPUBuffer;
  srcFormat: QuantizeSource;
  /** Destination arrays; their format and shape say what to produce. */
  out: QuantWeight;
}

/** Records the quantization of `src` into `out`. */
export async function quantizeWeight(
  rt: GpuRuntime,
  rec: Recorder,
  a: QuantizeArgs,
  opts: QuantizeOptions = {},
): Promise<void> {
  const { out } = a;
  const entryPoint = `quantize_${out.format}_forward`;
  if (!isQuantizerFormat(out.format))
    throw new RangeError(`${entryPoint}: the GPU quantizer makes q8_0, q4_0 and nf4 weights, not ${out.format}`);
  validateWeight(out, entryPoint);
  const srcRowBytes = out.cols * DENSE_BYTES[a.srcFormat];
  if (a.src.size < Math.ceil((srcRowBytes * out.rows) / 4) * 4) {
    throw new RangeError(
      `${entryPoint}: ${a.srcFormat} source holds ${a.src.size} bytes, [${out.rows}, ${out.cols}] needs ${srcRowBytes * out.rows}`,
    );
  }
  const WG = opts.workgroupSize ?? 64;
  const arrays = [{ name: 'src', buffer: a.src, rowBytes: srcRowBytes }, ...weightArrays(out)];
  const chunks = planRowChunks(arrays, out.rows, bindingLimits(rt, opts.maxBindingBytes), entryPoint);
  const pipeline = await rt.pipelines.get({ shader: QUANTIZE_SHADER, entryPoint, constants: { WG } });
  const maxPerDim = Math.min(opts.maxWorkgroupsX ?? Infinity, rt.device.limits.maxComputeWorkgroupsPerDimension);
  for (const chunk of chunks) {
    const blocks = (chunk.rows * out.cols) / BLOCK_VALUES[out.format];
    // Q8_0 / Q4_0: one invocation per pair of blocks (they share a u32 of f16 scales); NF4: one per block.
    const invocations = out.format === 'nf4' ? blocks : Math.ceil(blocks / 2);
    const groups = Math.ceil(invocations / WG);
    const x = Math.min(groups, maxPerDim);
    rec.dispatch({
      label: chunks.length > 1 ? `${entryPoint}[rows ${chunk.row0}+${chunk.rows}]` : entryPoint,
      pipeline,
      buffers: chunk.bindings,
      params: QUANTIZE_SHADER.params.pack({
        blocks,
        src_format: SRC_FORMAT[a.srcFormat],
        zero: 0, // see shaders/quantize.wgsl
      }),
      workgroups: [x, Math.ceil(groups / x)],
    });
  }
}

export interface QuantizeNewArgs {
  src: GPUBuffer;
  srcFormat: QuantizeSource;
  format: QuantizerFormat;
  rows: number;
  cols: number;
  owner: string;
  label: string;
}

/** Allocates the quantized weight's arrays and records the quantization (the result is valid after `rec.submit()`). */
export async function quantizeToNewWeight(
  rt: GpuRuntime,
  rec: Recorder,
  a: QuantizeNewArgs,
  opts: QuantizeOptions = {},
): Promise<QuantWeight> {
  const out = createQuantWeight(rt, a.owner, a.label, a.format, a.rows, a.cols);
  await quantizeWeight(rt, rec, { src: a.src, srcFormat: a.srcFormat, out }, opts);
  return out;
}
