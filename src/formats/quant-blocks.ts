/**
 * Host-side helpers for quantized weight blocks (the layouts are in docs/formats.md):
 *
 * - GGUF blocks (Q8_0, Q4_0 and the K-quants Q2_K..Q6_K) hold one or two f16 scales (d, and dmin for the
 *   formats with a min) somewhere in the block, so they are 2-byte aligned at best. On upload we split them into
 *   the GPU layout the kernels read (shaders/matmul_quant.wgsl, shaders/matmul_kquant.wgsl): `scales` = each
 *   block's f16 scale(s) in order, `quants` = the rest of each block's bytes in file order. Nothing is converted:
 *   the GPU bytes are GGUF's bytes rearranged, `joinGgufBlocks` puts them back bit for bit (GGUF export, tests).
 * - bitsandbytes NF4 (64 values per block, f32 absmax, two codes per byte, FIRST element in the HIGH nibble) is
 *   already aligned: `scales` = absmax (f32), `quants` = the packed bytes as stored.
 * - f16 / bf16 conversions live in ./half.ts.
 */

export type KQuantFormat = 'q2_k' | 'q3_k' | 'q4_k' | 'q5_k' | 'q6_k';
export type GgufBlockFormat = 'q8_0' | 'q4_0' | KQuantFormat;
export type BlockFormatName = GgufBlockFormat | 'nf4';

export const KQUANT_FORMATS: readonly KQuantFormat[] = ['q2_k', 'q3_k', 'q4_k', 'q5_k', 'q6_k'];

export function isKQuantFormat(f: string): f is KQuantFormat {
  return (KQUANT_FORMATS as readonly string[]).includes(f);
}

/**
 * Byte offset of a GGUF block's f16 scales (d, then dmin for the formats with mins: SCALE_BYTES_PER_BLOCK says how
 * many bytes): Q2_K ends with d, dmin; Q3_K and Q6_K end with d; Q8_0, Q4_0, Q4_K and Q5_K start with them.
 */
export const GGUF_SCALE_AT: Record<GgufBlockFormat, number> = {
  q8_0: 0,
  q4_0: 0,
  q2_k: 80,
  q3_k: 108,
  q4_k: 0,
  q5_k: 0,
  q6_k: 208,
};

/** Values per block. */
export const BLOCK_VALUES: Record<BlockFormatName, number> = {
  q8_0: 32,
  q4_0: 32,
  nf4: 64,
  q2_k: 256,
  q3_k: 256,
  q4_k: 256,
  q5_k: 256,
  q6_k: 256,
};

/** Bytes per block in the GGUF file (its f16 scales included). */
export const GGUF_BLOCK_BYTES: Record<GgufBlockFormat, number> = {
  q8_0: 34,
  q4_0: 18,
  q2_k: 84,
  q3_k: 110,
  q4_k: 144,
  q5_k: 176,
  q6_k: 210,
};

/** Bytes of scale per block in the GPU layout: the f16 scales of GGUF blocks (2 per half), NF4's f32 absmax. */
export const SCALE_BYTES_PER_BLOCK: Record<BlockFormatName, number> = {
  q8_0: 2,
  q4_0: 2,
  nf4: 4,
  q2_k: 4,
  q3_k: 2,
  q4_k: 4,
  q5_k: 4,
  q6_k: 2,
};

/** Bytes of quants per block in the GPU layout: the rest of a GGUF block (always a multiple of 4), NF4's codes. */
export const QUANT_BYTES_PER_BLOCK: Record<BlockFormatName, number> = {
  q8_0: 32,
  q4_0: 16,
  nf4: 32,
  q2_k: 80,
  q3_k: 108,
  q4_k: 140,
  q5_k: 172,
  q6_k: 208,
};

/** bitsandbytes' NF4 code book: value of each 4-bit code, as f32 numbers. */
export const NF4_CODE: readonly number[] = [
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
  -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
];

/** The GPU layout of a block-quantized tensor: raw bytes of the `scales` and `quants` storage buffers. */
export interface BlockArrays {
  scales: Uint8Array;
  quants: Uint8Array;
}

function blockCount(format: BlockFormatName, values: number): number {
  const per = BLOCK_VALUES[format];
  if (!Number.isInteger(values) || values < 0 || values % per !== 0) {
    throw new RangeError(`${format}: ${values} values is not a multiple of ${per} (whole ${per}-value blocks)`);
  }
  return values / per;
}

/**
 * Splits a raw GGUF block tensor (`values` elements, rows of whole blocks) into the GPU layout.
 * `bytes` is exactly the tensor's data in the GGUF file (blocks back to back).
 */
export function splitGgufBlocks(format: GgufBlockFormat, bytes: Uint8Array, values: number): BlockArrays {
  const blocks = blockCount(format, values);
  const stride = GGUF_BLOCK_BYTES[format];
  const scaleAt = GGUF_SCALE_AT[format];
  if (bytes.byteLength !== blocks * stride) {
    throw new RangeError(
      `${format}: ${values} values need ${blocks * stride} bytes of GGUF blocks, got ${bytes.byteLength}`,
    );
  }
  const sb = SCALE_BYTES_PER_BLOCK[format];
  const qb = QUANT_BYTES_PER_BLOCK[format];
  const scales = new Uint8Array(blocks * sb);
  const quants = new Uint8Array(blocks * qb);
  for (let b = 0; b < blocks; b++) {
    const at = b * stride;
    scales.set(bytes.subarray(at + scaleAt, at + scaleAt + sb), b * sb);
    quants.set(bytes.subarray(at, at + scaleAt), b * qb);
    quants.set(bytes.subarray(at + scaleAt + sb, at + stride), b * qb + scaleAt);
  }
  return { scales, quants };
}

/** The inverse of `splitGgufBlocks`: the GGUF bytes of a tensor held in the GPU layout (`values` elements). */
export function joinGgufBlocks(format: GgufBlockFormat, arrays: BlockArrays, values: number): Uint8Array {
  const blocks = blockCount(format, values);
  const stride = GGUF_BLOCK_BYTES[format];
  const scaleAt = GGUF_SCALE_AT[format];
  const sb = SCALE_BYTES_PER_BLOCK[format];
  const qb = QUANT_BYTES_PER_BLOCK[format];
  if (arrays.scales.byteLength < blocks * sb || arrays.quants.byteLength < blocks * qb) {
    throw new RangeError(`${format}: arrays too short for ${blocks} blocks`);
  }
  const out = new Uint8Array(blocks * stride);
  for (let b = 0; b < blocks; b++) {
    const at = b * stride;
    const q = arrays.quants.subarray(b * qb, (b + 1) * qb);
    out.set(q.subarray(0, scaleAt), at);
    out.set(arrays.scales.subarray(b * sb, (b + 1) * sb), at + scaleAt);
    out.set(q.subarray(scaleAt), at + scaleAt + sb);
  }
  return out;
}

/**
 * The GPU layout of a bitsandbytes NF4 tensor of `values` elements: `packed` is the uint8 `weight` tensor
 * (values / 2 bytes, first element of each pair in the high nibble), `absmax` one f32 per 64 values.
 * Double-quantized checkpoints (absmax stored as 8-bit codes) must be expanded to f32 absmax first.
 */
export function nf4Arrays(packed: Uint8Array, absmax: Float32Array, values: number): BlockArrays {
  const blocks = blockCount('nf4', values);
  if (packed.byteLength !== values / 2)
    throw new RangeError(`nf4: ${values} values need ${values / 2} packed bytes, got ${packed.byteLength}`);
  if (absmax.length !== blocks)
    throw new RangeError(`nf4: ${values} values need ${blocks} absmax values, got ${absmax.length}`);
  return { scales: new Uint8Array(absmax.buffer, absmax.byteOffset, absmax.byteLength), quants: packed };
}

/** Byte sizes of the GPU arrays of a [rows, cols] tensor. */
export function blockArrayBytes(
  format: BlockFormatName,
  rows: number,
  cols: number,
): { scales: number; quants: number } {
  const blocks = rows * blockCount(format, cols);
  return { scales: blocks * SCALE_BYTES_PER_BLOCK[format], quants: blocks * QUANT_BYTES_PER_BLOCK[format] };
}

/** Packs 16-bit values two per u32 (element 2i low), the little-endian layout of a safetensors F16/BF16 tensor. */
export function packHalves(halves: ArrayLike<number>): Uint32Array {
  const out = new Uint32Array(Math.ceil(halves.length / 2));
  for (let i = 0; i < halves.length; i++) out[i >> 1]! |= (halves[i]! & 0xffff) << (16 * (i & 1));
  return out;
}
