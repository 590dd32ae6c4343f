/**
 * The host side of loading one tensor: which GPU format it gets, and the byte work done before upload (row slices,
 * undoing GGUF's q/k permutation on whole rows, dequantization and dense conversions). Pure functions, browser-safe.
 *
 * Format choice (the defaults of src/model/plan.ts `settingsFor`, extended to GGUF):
 *   projections  quant 'none' → as stored; else the chosen quant
 *   embeddings   `embeddings` option if given; else quant 'none' → as stored; else q8_0        (the LM head too)
 *   "as stored"  f32 / f16 / bf16 / q8_0 / q4_0 / q2_k .. q6_k as they are: every type the checkpoint reader accepts
 *                has a GPU kernel that reads it as stored (shaders/matmul_quant.wgsl, shaders/matmul_kquant.wgsl).
 *   fallback     a block format needs rows of whole blocks (32 values, NF4 64). A tensor whose row length is not
 *                a multiple keeps a dense format instead (as stored when dense, else f32) and the load report lists
 *                it: real checkpoints never hit this; tiny test models (I = 96, 160) do.
 */
import { dequantizeGguf } from '../formats/gguf-dequant.ts';
import type { GgmlType } from '../formats/gguf-types.ts';
import { bf16ArrayToF32, f16ArrayToF32, f32ArrayToBf16, f32ArrayToF16 } from '../formats/half.ts';
import { BLOCK_VALUES } from '../formats/quant-blocks.ts';
import type { ConvertFormat, WeightFormat } from '../kernels/weights.ts';
import type { QuantChoice } from '../schema/model.ts';
import type { StoredType } from './checkpoint.ts';

export type TensorRole = 'embedding' | 'head' | 'projection';

/** The GPU format of a tensor kept as stored: the same type (every stored type has a GPU format of its own). */
export function asStoredFormat(stored: StoredType): WeightFormat {
  return stored;
}

export function isDenseFormat(f: WeightFormat | StoredType): f is 'f32' | 'f16' | 'bf16' {
  return f === 'f32' || f === 'f16' || f === 'bf16';
}

export interface FormatChoice {
  format: WeightFormat;
  /** Set when the requested block format did not fit the row length. */
  fallbackFrom?: WeightFormat;
}

export function chooseFormat(
  role: TensorRole,
  stored: StoredType,
  cols: number,
  quant: QuantChoice,
  embeddings?: ConvertFormat,
): FormatChoice {
  const asStored = asStoredFormat(stored);
  const want: WeightFormat =
    role === 'projection'
      ? quant === 'none'
        ? asStored
        : quant
      : (embeddings ?? (quant === 'none' ? asStored : 'q8_0'));
  if (isDenseFormat(want) || cols % BLOCK_VALUES[want] === 0) return { format: want };
  return { format: isDenseFormat(asStored) ? asStored : 'f32', fallbackFrom: want };
}

const GGML_OF: Record<StoredType, GgmlType> = {
  f32: 'F32',
  f16: 'F16',
  bf16: 'BF16',
  q8_0: 'Q8_0',
  q4_0: 'Q4_0',
  q2_k: 'Q2_K',
  q3_k: 'Q3_K',
  q4_k: 'Q4_K',
  q5_k: 'Q5_K',
  q6_k: 'Q6_K',
};
const BLOCK: Record<StoredType, [values: number, bytes: number]> = {
  f32: [1, 4],
  f16: [1, 2],
  bf16: [1, 2],
  q8_0: [32, 34],
  q4_0: [32, 18],
  q2_k: [256, 84],
  q3_k: [256, 110],
  q4_k: [256, 144],
  q5_k: [256, 176],
  q6_k: [256, 210],
};

/** Bytes of one row of `cols` values as stored. */
export function storedRowBytes(stored: StoredType, cols: number): number {
  const [values, bytes] = BLOCK[stored];
  if (cols % values !== 0)
    throw new RangeError(`a ${stored} row must hold whole ${values}-value blocks, got ${cols} values`);
  return (cols / values) * bytes;
}

/** Rows [r0, r0 + n) of a row-major tensor (a view, no copy). */
export function rowSlice(bytes: Uint8Array, rowBytes: number, r0: number, n: number): Uint8Array {
  return bytes.subarray(r0 * rowBytes, (r0 + n) * rowBytes);
}

/** Bytes as stored → f32 values (exact for f32 / f16 / bf16; ggml's dequantization for block types). */
export function storedToF32(stored: StoredType, bytes: Uint8Array, count: number): Float32Array {
  if (stored === 'f32') {
    const out = new Float32Array(count);
    new Uint8Array(out.buffer).set(bytes.subarray(0, 4 * count));
    return out;
  }
  if (stored === 'f16' || stored === 'bf16') {
    const halves = new Uint16Array(count);
    new Uint8Array(halves.buffer).set(bytes.subarray(0, 2 * count));
    return stored === 'f16' ? f16ArrayToF32(halves) : bf16ArrayToF32(halves);
  }
  return dequantizeGguf(GGML_OF[stored], bytes, count);
}

/** f32 values → the bytes of a dense GPU format (f16 / bf16 round to nearest even). */
export function encodeDense(format: 'f32' | 'f16' | 'bf16', values: Float32Array): Uint8Array {
  if (format === 'f32') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const halves = format === 'f16' ? f32ArrayToF16(values) : f32ArrayToBf16(values);
  return new Uint8Array(halves.buffer);
}

/** The largest number of bytes held at once, as the loader declares its host arrays (its own counter). */
export class HostMeter {
  private held = 0;
  peak = 0;
  /** Declares an array the loader now holds; returns it. */
  hold<T extends ArrayBufferView>(array: T): T {
    this.holdBytes(array.byteLength);
    return array;
  }
  /** Declares bytes held by a callee (e.g. the GPU-layout copy `uploadGgufWeight` makes). */
  holdBytes(bytes: number): void {
    this.held += bytes;
    this.peak = Math.max(this.peak, this.held);
  }
  /** Declares bytes dropped (a slab's conversion, once uploaded). */
  release(bytes: number): void {
    this.held = Math.max(0, this.held - bytes);
  }
  /** Everything held for the current tensor has been dropped. */
  releaseAll(): void {
    this.held = 0;
  }
}
