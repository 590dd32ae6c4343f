/**
 * The K-quant dequantizers Q2_K, Q3_K and Q5_K (src/formats/gguf-dequant.ts) on blocks packed by hand from the layout
 * rules of docs/formats.md; the simple reference quantizers (src/formats/gguf-quant-k.ts) give valid blocks whose
 * dequantization stays near the input; the GPU layout split keeps every byte.
 */
import { describe, expect, it } from 'vitest';
import {
  dequantizeGguf,
  dequantizeQ2K,
  dequantizeQ3K,
  dequantizeQ5K,
  q3kScale,
} from '../../../src/formats/gguf-dequant.ts';
import { encodeGgufTensor, packQ4KScales } from '../../../src/formats/gguf-quant.ts';
import { GGML_TYPES, type GgmlType } from '../../../src/formats/gguf-types.ts';
import {
  GGUF_BLOCK_BYTES,
  GGUF_SCALE_AT,
  KQUANT_FORMATS,
  QUANT_BYTES_PER_BLOCK,
  SCALE_BYTES_PER_BLOCK,
  joinGgufBlocks,
  splitGgufBlocks,
} from '../../../src/formats/quant-blocks.ts';
import { GGML_OF_KQUANT } from '../../harness/kquant-blocks.ts';
import { seededRng } from '../../harness/rng.ts';

const F16_HALF = [0x00, 0x38]; // 0.5
const F16_QUARTER = [0x00, 0x34]; // 0.25
const F16_EIGHTH = [0x00, 0x30]; // 0.125

describe('K-quant dequantization of hand-built blocks gives the spec values exactly', () => {
  it('Q2_K: value 128n + 32j + l is bits 2j of quant byte 32n + l; scale byte 8n + 2j + l/16 = sc | m << 4', () => {
    const q = (i: number) => (i * 7 + (i >> 5)) % 4;
    const sc = Array.from({ length: 16 }, (_, j) => (j * 5 + 3) % 16);
    const mn = Array.from({ length: 16 }, (_, j) => (j * 11 + 1) % 16);
    const block = new Uint8Array(84);
    sc.forEach((s, j) => (block[j] = s | (mn[j]! << 4)));
    for (let n = 0; n < 2; n++)
      for (let l = 0; l < 32; l++)
        for (let j = 0; j < 4; j++) block[16 + 32 * n + l]! |= q(128 * n + 32 * j + l) << (2 * j);
    block.set([...F16_HALF, ...F16_QUARTER], 80);
    const y = dequantizeQ2K(block, 256);
    for (let i = 0; i < 256; i++) {
      const j = i >> 4; // 16 values per scale, in order
      expect(y[i], `value ${i}`).toBe(0.5 * sc[j]! * q(i) - 0.25 * mn[j]!);
    }
  });

  it('Q3_K: 6-bit scales (low nibbles in bytes 0..7, top 2 bits in bytes 8..11) − 32; a clear high bit subtracts 4', () => {
    const L = (i: number) => (i * 13 + 5) % 8; // the 3-bit value, q = L − 4
    const sc6 = Array.from({ length: 16 }, (_, j) => (j * 23 + 7) % 64);
    const block = new Uint8Array(110);
    for (let i = 0; i < 256; i++) {
      const [n, j, l] = [i >> 7, (i >> 5) & 3, i & 31];
      block[32 + 32 * n + l]! |= (L(i) & 3) << (2 * j);
      if (L(i) & 4) block[l]! |= 1 << (4 * n + j);
    }
    for (let s = 0; s < 16; s++) {
      block[96 + (s % 8)]! |= (sc6[s]! & 15) << (4 * Math.floor(s / 8));
      block[104 + (s % 4)]! |= (sc6[s]! >> 4) << (2 * Math.floor(s / 4));
    }
    block.set(F16_EIGHTH, 108);
    for (let s = 0; s < 16; s++) expect(q3kScale(block, 96, s)).toBe(sc6[s]);
    const y = dequantizeQ3K(block, 256);
    for (let i = 0; i < 256; i++) expect(y[i], `value ${i}`).toBe(0.125 * (sc6[i >> 4]! - 32) * (L(i) - 4));
  });

  it('Q5_K: Q4_K nibbles plus a fifth bit (bit 2g + h of byte l of the 32 bytes before the nibbles)', () => {
    const SC = [1, 2, 3, 4, 17, 33, 63, 40];
    const MN = [0, 5, 10, 15, 20, 50, 63, 33];
    const q = (i: number) => (i * 19 + 3) % 32;
    const block = new Uint8Array(176);
    block.set([...F16_HALF, ...F16_QUARTER], 0);
    block.set(packQ4KScales(SC, MN), 4);
    for (let i = 0; i < 256; i++) {
      const [g, h, l] = [i >> 6, (i >> 5) & 1, i & 31];
      block[48 + 32 * g + l]! |= (q(i) & 15) << (4 * h);
      if (q(i) & 16) block[16 + l]! |= 1 << (2 * g + h);
    }
    const y = dequantizeQ5K(block, 256);
    for (let i = 0; i < 256; i++) expect(y[i], `value ${i}`).toBe(0.5 * SC[i >> 5]! * q(i) - 0.25 * MN[i >> 5]!);
  });

  it('refuses buffers too short for the values asked for', () => {
    expect(() => dequantizeQ2K(new Uint8Array(83), 256)).toThrow(/need 84 bytes/);
    expect(() => dequantizeQ5K(new Uint8Array(176), 128)).toThrow(/not a whole number of 256-value blocks/);
  });
});

describe('K-quant reference quantizers', () => {
  // Norm-wise relative error of dequantize(quantize(x)) on uniform [-1, 1] values, bounded with ~1.5× margin over
  // what the default seeds give: 0.27 (Q2_K), 0.15 (Q3_K), 0.061 (Q4_K), 0.030 (Q5_K); Q6_K's writer is
  // gguf-quant.ts's (its own test bounds every value by half a step).
  const BOUND: Record<string, number> = { Q2_K: 0.4, Q3_K: 0.22, Q4_K: 0.09, Q5_K: 0.045, Q6_K: 0.026 };
  for (const type of ['Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'] as GgmlType[]) {
    it(`${type}: valid blocks near the input`, () => {
      const rng = seededRng(`${type} reference quantizer`);
      const x = rng.f32(4 * 256);
      const bytes = encodeGgufTensor(type, x, [4, 256]);
      expect(bytes.byteLength).toBe(4 * GGML_TYPES[type].blockBytes);
      const y = dequantizeGguf(type, bytes, x.length);
      let err = 0;
      let norm = 0;
      for (let i = 0; i < x.length; i++) {
        err += (y[i]! - x[i]!) ** 2;
        norm += x[i]! ** 2;
      }
      expect(Math.sqrt(err / norm)).toBeLessThan(BOUND[type]!);
      const zeros = dequantizeGguf(type, encodeGgufTensor(type, new Float32Array(256), [1, 256]), 256);
      expect(zeros.every((v) => v === 0)).toBe(true);
    });
  }
});

describe('K-quant GPU layout', () => {
  it('scales and quants together are the GGUF block; quants are whole u32; split then join is the identity', () => {
    const rng = seededRng('kquant repack');
    for (const format of KQUANT_FORMATS) {
      const stride = GGUF_BLOCK_BYTES[format];
      expect(stride).toBe(GGML_TYPES[GGML_OF_KQUANT[format]].blockBytes);
      expect(SCALE_BYTES_PER_BLOCK[format] + QUANT_BYTES_PER_BLOCK[format]).toBe(stride);
      expect(QUANT_BYTES_PER_BLOCK[format] % 4).toBe(0);
      const bytes = new Uint8Array(stride * 3).map(() => rng.int(0, 256));
      const arrays = splitGgufBlocks(format, bytes, 3 * 256);
      const sb = SCALE_BYTES_PER_BLOCK[format];
      const at = GGUF_SCALE_AT[format];
      // Block 2's scales are its bytes at the scale offset; its quants are the rest, in order.
      expect(Array.from(arrays.scales.subarray(2 * sb, 3 * sb))).toEqual(
        Array.from(bytes.subarray(2 * stride + at, 2 * stride + at + sb)),
      );
      const rest = [
        ...bytes.subarray(2 * stride, 2 * stride + at),
        ...bytes.subarray(2 * stride + at + sb, 3 * stride),
      ];
      expect(Array.from(arrays.quants.subarray(2 * (stride - sb), 3 * (stride - sb)))).toEqual(rest);
      expect(Array.from(joinGgufBlocks(format, arrays, 3 * 256))).toEqual(Array.from(bytes));
    }
    expect(() => splitGgufBlocks('q6_k', new Uint8Array(210), 128)).toThrow(/multiple of 256/);
  });
});
