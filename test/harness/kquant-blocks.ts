/**
 * Random GGUF K-quant tensors for kernel tests: every quant, scale, min and high bit is a random byte, so each bit
 * of the layout is exercised; only the f16 super-scales (d, dmin) are drawn so that the values stay in about
 * [-1, 1] (a random f16 would be anything up to 65504, or NaN). The reference values come from the CPU
 * dequantization (src/formats/gguf-dequant.ts), which follows ggml's code.
 */
import { dequantizeGguf } from '../../src/formats/gguf-dequant.ts';
import type { GgmlType } from '../../src/formats/gguf-types.ts';
import { f32ToF16 } from '../../src/formats/half.ts';
import { GGUF_BLOCK_BYTES, GGUF_SCALE_AT, type KQuantFormat } from '../../src/formats/quant-blocks.ts';
import type { Rng } from './rng.ts';

export const GGML_OF_KQUANT: Record<KQuantFormat, GgmlType> = {
  q2_k: 'Q2_K',
  q3_k: 'Q3_K',
  q4_k: 'Q4_K',
  q5_k: 'Q5_K',
  q6_k: 'Q6_K',
};

/** Largest |sub-scale · quant| and |min| multipliers of d and dmin in each format (so |value| ≲ 1). */
const SPAN: Record<KQuantFormat, [d: number, dmin: number]> = {
  q2_k: [15 * 3, 15],
  q3_k: [32 * 4, 0],
  q4_k: [63 * 15, 63],
  q5_k: [63 * 31, 63],
  q6_k: [128 * 32, 0],
};

/** The GGUF bytes of a random `values`-long tensor of `format` (whole 256-value blocks). */
export function randomKQuantBytes(format: KQuantFormat, values: number, rng: Rng): Uint8Array {
  if (values % 256 !== 0) throw new RangeError(`${format}: ${values} values is not whole 256-value blocks`);
  const stride = GGUF_BLOCK_BYTES[format];
  const at = GGUF_SCALE_AT[format];
  const [dSpan, minSpan] = SPAN[format];
  const out = new Uint8Array((values / 256) * stride);
  for (let i = 0; i < out.length; i++) out[i] = rng.int(0, 256);
  for (let b = 0; b < values / 256; b++) {
    const put = (o: number, v: number) => {
      const h = f32ToF16(v);
      out[b * stride + o] = h & 0xff;
      out[b * stride + o + 1] = h >> 8;
    };
    put(at, rng.uniform(0.25, 1) / dSpan);
    if (minSpan > 0) put(at + 2, rng.uniform(0, 0.5) / minSpan);
  }
  return out;
}

/** The values a kernel must read from K-quant bytes, in float64 (the CPU dequantization's f32 values). */
export function kquantValues(format: KQuantFormat, bytes: Uint8Array, values: number): Float64Array {
  return Float64Array.from(dequantizeGguf(GGML_OF_KQUANT[format], bytes, values));
}
