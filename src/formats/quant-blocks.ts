/**
 * Host-side helpers for quantized weight blocks (the facts are in /work/shared/FORMATS.md):
 *
 * - GGUF Q8_0 (34 bytes per 32 values: f16 d, 32 int8) and Q4_0 (18 bytes per 32 values: f16 d, 16 bytes of
 *   nibbles, byte j = element j low | element j+16 high) are 2-byte aligned at best, so on upload we split them
 *   into the GPU layout the kernels read (shaders/matmul_quant.wgsl): `scales` = the blocks' f16 d values in
 *   order, `quants` = the blocks' quant bytes in order. Nothing is converted: the GPU bytes are GGUF's bytes
 *   rearranged, `joinGgufBlocks` puts them back bit for bit (GGUF export, tests).
 * - bitsandbytes NF4 (64 values per block, f32 absmax, two codes per byte, FIRST element in the HIGH nibble) is
 *   already aligned: `scales` = absmax (f32), `quants` = the packed bytes as stored.
 * - f16 / bf16 conversions live in ./half.ts.
 */

export type BlockFormatName = 'q8_0' | 'q4_0' | 'nf4';

/** Values per block. */
export const BLOCK_VALUES: Record<BlockFormatName, number> = { q8_0: 32, q4_0: 32, nf4: 64 };

/** Bytes per block in the file format (GGUF blocks include their f16 scale; NF4's absmax lives apart). */
export const GGUF_BLOCK_BYTES = { q8_0: 34, q4_0: 18 } as const;

/** Bytes of quants per block in the GPU layout. */
export const QUANT_BYTES_PER_BLOCK: Record<BlockFormatName, number> = { q8_0: 32, q4_0: 16, nf4: 32 };

/** Bytes of scale per block in the GPU layout (f16 d for GGUF formats, f32 absmax for NF4). */
export const SCALE_BYTES_PER_BLOCK: Record<BlockFormatName, number> = { q8_0: 2, q4_0: 2, nf4: 4 };

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
 * Splits a raw GGUF Q8_0 / Q4_0 tensor (`values` elements, rows of whole blocks) into the GPU layout.
 * `bytes` is exactly the tensor's data in the GGUF file (blocks back to back, 34 or 18 bytes each).
 */
export function splitGgufBlocks(format: 'q8_0' | 'q4_0', bytes: Uint8Array, values: number): BlockArrays {
  const blocks = blockCount(format, values);
  const stride = GGUF_BLOCK_BYTES[format];
  if (bytes.byteLength !== blocks * stride) {
    throw new RangeError(
      `${format}: ${values} values need ${blocks * stride} bytes of GGUF blocks, got ${bytes.byteLength}`,
    );
  }
  const qb = QUANT_BYTES_PER_BLOCK[format];
  const scales = new Uint8Array(blocks * 2);
  const quants = new Uint8Array(blocks * qb);
  for (let b = 0; b < blocks; b++) {
    const at = b * stride;
    scales[2 * b] = bytes[at]!;
    scales[2 * b + 1] = bytes[at + 1]!;
    quants.set(bytes.subarray(at + 2, at + stride), b * qb);
  }
  return { scales, quants };
}

/** The inverse of `splitGgufBlocks`: the GGUF bytes of a tensor held in the GPU layout (`values` elements). */
export function joinGgufBlocks(format: 'q8_0' | 'q4_0', arrays: BlockArrays, values: number): Uint8Array {
  const blocks = blockCount(format, values);
  const stride = GGUF_BLOCK_BYTES[format];
  const qb = QUANT_BYTES_PER_BLOCK[format];
  if (arrays.scales.byteLength < blocks * 2 || arrays.quants.byteLength < blocks * qb) {
    throw new RangeError(`${format}: arrays too short for ${blocks} blocks`);
  }
  const out = new Uint8Array(blocks * stride);
  for (let b = 0; b < blocks; b++) {
    const at = b * stride;
    out[at] = arrays.scales[2 * b]!;
    out[at + 1] = arrays.scales[2 * b + 1]!;
    out.set(arrays.quants.subarray(b * qb, (b + 1) * qb), at + 2);
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
