/**
 * Base-model weight descriptors: how a linear layer's frozen W [M, K] (nn.Linear layout, M = rows = outputs,
 * K = cols = inputs) lives on the GPU, in any of the formats the engine reads, plus uploads from file bytes.
 *
 *   f32            data: K f32 per row                                     (src/kernels/matmul.ts)
 *   f16, bf16      data: the safetensors bytes, two values per u32          (shaders/matmul_dense.wgsl)
 *   q8_0, q4_0     scales: f16 d per 32-block; quants: the GGUF quant bytes (shaders/matmul_quant.wgsl)
 *   nf4            scales: f32 absmax per 64-block; quants: bitsandbytes' packed codes
 *   q2_k .. q6_k   scales: f16 d (and dmin) per 256-block; quants: the rest of the GGUF block (matmul_kquant.wgsl)
 *
 * Rows hold whole blocks (K % 32, % 64 for NF4, % 256 for K-quants). Every array is row-major, so a run of rows is
 * a contiguous byte range: that is what lets a weight larger than one binding be split by rows
 * (src/kernels/weight-chunks.ts).
 */
import {
  BLOCK_VALUES,
  type BlockArrays,
  type GgufBlockFormat,
  KQUANT_FORMATS,
  type KQuantFormat,
  QUANT_BYTES_PER_BLOCK,
  SCALE_BYTES_PER_BLOCK,
  blockArrayBytes,
  nf4Arrays,
  splitGgufBlocks,
} from '../formats/quant-blocks.ts';
import { readBuffer } from '../gpu/readback.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';

export type DenseFormat = 'f32' | 'f16' | 'bf16';
export type BlockFormat = 'q8_0' | 'q4_0' | 'nf4' | KQuantFormat;
export type WeightFormat = DenseFormat | BlockFormat;

/** The block formats the GPU quantizer (src/kernels/quantize.ts) makes. */
export type QuantizerFormat = 'q8_0' | 'q4_0' | 'nf4';
/** Formats a weight can be converted to on load. */
export type ConvertFormat = DenseFormat | QuantizerFormat;
export const WEIGHT_FORMATS: readonly ConvertFormat[] = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'nf4'];
/** Every GPU format, K-quants (uploaded only as read from a GGUF file) included. */
export const ALL_WEIGHT_FORMATS: readonly WeightFormat[] = [...WEIGHT_FORMATS, ...KQUANT_FORMATS];

interface WeightShape {
  /** M: output features (rows of W). */
  rows: number;
  /** K: input features (columns of W, the row length). */
  cols: number;
}

export interface DenseWeight extends WeightShape {
  format: DenseFormat;
  /** ceil(rows·cols·bytes / 4) u32 words, row-major. */
  data: GPUBuffer;
}

export interface QuantWeight extends WeightShape {
  format: BlockFormat;
  /**
   * Per block, row-major: f16 d (q8_0, q4_0, q3_k, q6_k) or f16 d and dmin (q2_k, q4_k, q5_k), two f16 per u32;
   * f32 absmax (nf4).
   */
  scales: GPUBuffer;
  /** Per block, row-major: the quant bytes (QUANT_BYTES_PER_BLOCK: 32 for q8_0, 16 for q4_0, 140 for q4_k, ...). */
  quants: GPUBuffer;
}

export type BaseWeight = DenseWeight | QuantWeight;

export function isBlockFormat(format: WeightFormat): format is BlockFormat {
  return format !== 'f32' && format !== 'f16' && format !== 'bf16';
}

export function isQuantizerFormat(format: WeightFormat): format is QuantizerFormat {
  return format === 'q8_0' || format === 'q4_0' || format === 'nf4';
}

export function isQuantWeight(w: BaseWeight): w is QuantWeight {
  return isBlockFormat(w.format);
}

/** Bytes per element of the dense formats. */
export const DENSE_BYTES: Record<DenseFormat, number> = { f32: 4, f16: 2, bf16: 2 };

/** One storage array of a weight and its bytes per row of W (used to split a weight into row chunks). */
export interface WeightArray {
  name: string;
  buffer: GPUBuffer;
  rowBytes: number;
}

/** The weight's storage arrays in binding order, with their bytes per row. */
export function weightArrays(w: BaseWeight): WeightArray[] {
  if (isQuantWeight(w)) {
    const blocksPerRow = w.cols / BLOCK_VALUES[w.format];
    return [
      { name: 'scales', buffer: w.scales, rowBytes: blocksPerRow * SCALE_BYTES_PER_BLOCK[w.format] },
      { name: 'quants', buffer: w.quants, rowBytes: blocksPerRow * QUANT_BYTES_PER_BLOCK[w.format] },
    ];
  }
  return [{ name: 'data', buffer: w.data, rowBytes: w.cols * DENSE_BYTES[w.format] }];
}

/** Throws a clear error when the shape does not suit the format (rows of whole blocks, positive sizes). */
export function validateWeight(w: BaseWeight, where: string): void {
  if (!Number.isInteger(w.rows) || !Number.isInteger(w.cols) || w.rows < 1 || w.cols < 1) {
    throw new RangeError(`${where}: weight shape [${w.rows}, ${w.cols}] must be positive integers`);
  }
  if (isQuantWeight(w)) {
    const per = BLOCK_VALUES[w.format];
    if (w.cols % per !== 0) {
      throw new RangeError(
        `${where}: a ${w.format} weight needs K (row length) to be a multiple of ${per}; got W [${w.rows}, ${w.cols}]`,
      );
    }
  }
  for (const a of weightArrays(w)) {
    if (a.buffer.size < a.rowBytes * w.rows) {
      throw new RangeError(
        `${where}: ${w.format} ${a.name} buffer holds ${a.buffer.size} bytes, W [${w.rows}, ${w.cols}] needs ${a.rowBytes * w.rows}`,
      );
    }
  }
}

/** Uploads a dense weight from its file bytes (safetensors F32 / F16 / BF16, or GGUF F32 / F16 / BF16: the same bytes). */
export function uploadDenseWeight(
  rt: GpuRuntime,
  owner: string,
  label: string,
  format: DenseFormat,
  bytes: Uint8Array,
  rows: number,
  cols: number,
): DenseWeight {
  const want = rows * cols * DENSE_BYTES[format];
  if (bytes.byteLength !== want)
    throw new RangeError(`${label}: ${format} [${rows}, ${cols}] needs ${want} bytes, got ${bytes.byteLength}`);
  const w: DenseWeight = { format, rows, cols, data: rt.memory.upload(owner, label, bytes).buffer };
  validateWeight(w, label);
  return w;
}

/** Uploads block arrays already in the GPU layout. */
export function uploadBlockArrays(
  rt: GpuRuntime,
  owner: string,
  label: string,
  format: BlockFormat,
  arrays: BlockArrays,
  rows: number,
  cols: number,
): QuantWeight {
  const want = blockArrayBytes(format, rows, cols);
  if (arrays.scales.byteLength !== want.scales || arrays.quants.byteLength !== want.quants) {
    throw new RangeError(
      `${label}: ${format} [${rows}, ${cols}] needs ${want.scales} + ${want.quants} bytes, got ${arrays.scales.byteLength} + ${arrays.quants.byteLength}`,
    );
  }
  const w: QuantWeight = {
    format,
    rows,
    cols,
    scales: rt.memory.upload(owner, `${label}/scales`, arrays.scales).buffer,
    quants: rt.memory.upload(owner, `${label}/quants`, arrays.quants).buffer,
  };
  validateWeight(w, label);
  return w;
}

/**
 * Uploads a tensor read from a GGUF file: `bytes` is its data exactly as stored, `rows` × `cols` its torch shape
 * (GGUF lists dims innermost first, so a GGUF `[cols, rows]` tensor). Q8_0 / Q4_0 / K-quant blocks are split into
 * the GPU layout on the way (no value changes); F32 / F16 / BF16 are uploaded as they are.
 */
export function uploadGgufWeight(
  rt: GpuRuntime,
  owner: string,
  label: string,
  format: GgufBlockFormat | DenseFormat,
  bytes: Uint8Array,
  rows: number,
  cols: number,
): BaseWeight {
  if (format !== 'f32' && format !== 'f16' && format !== 'bf16') {
    const per = BLOCK_VALUES[format];
    if (cols % per !== 0)
      throw new RangeError(
        `${label}: a ${format} tensor needs a row length that is a multiple of ${per}; got [${rows}, ${cols}]`,
      );
    return uploadBlockArrays(rt, owner, label, format, splitGgufBlocks(format, bytes, rows * cols), rows, cols);
  }
  return uploadDenseWeight(rt, owner, label, format, bytes, rows, cols);
}

/** Uploads a bitsandbytes NF4 tensor: `packed` (uint8, two codes per byte, first in the high nibble) and its f32 absmax. */
export function uploadNf4Weight(
  rt: GpuRuntime,
  owner: string,
  label: string,
  packed: Uint8Array,
  absmax: Float32Array,
  rows: number,
  cols: number,
): QuantWeight {
  if (cols % 64 !== 0)
    throw new RangeError(`${label}: an nf4 tensor needs a row length that is a multiple of 64; got [${rows}, ${cols}]`);
  return uploadBlockArrays(rt, owner, label, 'nf4', nf4Arrays(packed, absmax, rows * cols), rows, cols);
}

/** Allocates (uninitialized) GPU arrays for a block-quantized [rows, cols] weight, e.g. as the GPU quantizer's output. */
export function createQuantWeight(
  rt: GpuRuntime,
  owner: string,
  label: string,
  format: BlockFormat,
  rows: number,
  cols: number,
): QuantWeight {
  const bytes = blockArrayBytes(format, rows, cols);
  const w: QuantWeight = {
    format,
    rows,
    cols,
    scales: rt.memory.create(owner, `${label}/scales`, bytes.scales).buffer,
    quants: rt.memory.create(owner, `${label}/quants`, bytes.quants).buffer,
  };
  validateWeight(w, label);
  return w;
}

/** Reads a block-quantized weight back in the GPU layout (e.g. for `joinGgufBlocks` to export GGUF). */
export async function readQuantWeight(rt: GpuRuntime, w: QuantWeight): Promise<BlockArrays> {
  const bytes = blockArrayBytes(w.format, w.rows, w.cols);
  const [scales, quants] = await Promise.all([
    readBuffer(rt.device, w.scales, bytes.scales),
    readBuffer(rt.device, w.quants, bytes.quants),
  ]);
  return { scales: new Uint8Array(scales), quants: new Uint8Array(quants) };
}

/** Releases a weight's buffers. */
export function destroyWeight(rt: GpuRuntime, w: BaseWeight): void {
  if (isQuantWeight(w)) {
    rt.memory.destroy(w.scales);
    rt.memory.destroy(w.quants);
  } else {
    rt.memory.destroy(w.data);
  }
}
