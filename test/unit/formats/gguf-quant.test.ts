import { describe, expect, it } from 'vitest';
import {
  dequantizeGguf,
  dequantizeQ4_0,
  dequantizeQ4K,
  dequantizeQ6K,
  dequantizeQ8_0,
  q4kScaleMin,
} from '../../../src/formats/gguf-dequant.ts';
import {
  encodeGgufTensor,
  packQ4KScales,
  quantizeQ4_0,
  quantizeQ4K,
  quantizeQ6K,
  quantizeQ8_0,
} from '../../../src/formats/gguf-quant.ts';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../../src/formats/half.ts';
import { seededRng } from '../../harness/rng.ts';

const F16_HALF = [0x00, 0x38]; // 0.5
const F16_QUARTER = [0x00, 0x34]; // 0.25

describe('dequantization of hand-built blocks gives the spec values exactly', () => {
  it('Q8_0: y = q·d', () => {
    const block = [...F16_HALF, ...Array.from({ length: 32 }, (_, j) => (j - 16) & 0xff)];
    const y = dequantizeQ8_0(Uint8Array.from(block), 32);
    expect(Array.from(y)).toEqual(Array.from({ length: 32 }, (_, j) => (j - 16) * 0.5));
  });

  it('Q4_0: byte j holds element j (low nibble) and j+16 (high nibble); y = (q − 8)·d', () => {
    const block = [...F16_QUARTER, ...Array.from({ length: 16 }, (_, j) => j | ((15 - j) << 4))];
    const y = dequantizeQ4_0(Uint8Array.from(block), 32);
    for (let j = 0; j < 16; j++) {
      expect(y[j]).toBe((j - 8) * 0.25);
      expect(y[j + 16]).toBe((15 - j - 8) * 0.25);
    }
  });

  // Eight 6-bit scales and mins, packed by hand following FORMATS.md's unpacking rules.
  const SC = [1, 2, 3, 4, 17, 33, 63, 40];
  const MN = [0, 5, 10, 15, 20, 50, 63, 33];
  const PACKED = [65, 130, 195, 132, 64, 197, 202, 143, 65, 33, 255, 24];

  it('Q4_K: the 12 scale bytes unpack to the six-bit scales and mins (and pack back)', () => {
    const bytes = Uint8Array.from(PACKED);
    for (let j = 0; j < 8; j++) expect(q4kScaleMin(bytes, 0, j)).toEqual([SC[j], MN[j]]);
    expect(Array.from(packQ4KScales(SC, MN))).toEqual(PACKED);
  });

  it('Q4_K: each 64 values are the low then the high nibbles of 32 bytes; y = d·sc·q − dmin·m', () => {
    const nib = (g: number, l: number): [number, number] => [(l + g) % 16, (47 - l + 3 * g) % 16];
    const block = [...F16_HALF, ...F16_QUARTER, ...PACKED];
    for (let g = 0; g < 4; g++) for (let l = 0; l < 32; l++) block.push(nib(g, l)[0] | (nib(g, l)[1] << 4));
    expect(block.length).toBe(144);
    const y = dequantizeQ4K(Uint8Array.from(block), 256);
    for (let g = 0; g < 4; g++) {
      for (let l = 0; l < 32; l++) {
        const [lo, hi] = nib(g, l);
        expect(y[64 * g + l]).toBe(0.5 * SC[2 * g]! * lo - 0.25 * MN[2 * g]!);
        expect(y[64 * g + 32 + l]).toBe(0.5 * SC[2 * g + 1]! * hi - 0.25 * MN[2 * g + 1]!);
      }
    }
  });

  it('Q6_K: 6-bit values packed like ggml quantize_row_q6_K dequantize to d·sc·(q − 32)', () => {
    const L = Array.from({ length: 256 }, (_, i) => (i * 37 + 11) % 64);
    const scales = Array.from({ length: 16 }, (_, i) => (i % 2 ? -1 : 1) * (i + 1) * 3);
    const block = new Uint8Array(210);
    for (let half = 0; half < 2; half++) {
      for (let l = 0; l < 32; l++) {
        const q = (k: number) => L[128 * half + l + 32 * k]!;
        block[64 * half + l] = (q(0) & 15) | ((q(2) & 15) << 4);
        block[64 * half + l + 32] = (q(1) & 15) | ((q(3) & 15) << 4);
        block[128 + 32 * half + l] = (q(0) >> 4) | ((q(1) >> 4) << 2) | ((q(2) >> 4) << 4) | ((q(3) >> 4) << 6);
      }
    }
    scales.forEach((s, i) => (block[192 + i] = s & 0xff));
    block.set([0x00, 0x30], 208); // d = 0.125
    const y = dequantizeQ6K(block, 256);
    for (let i = 0; i < 256; i++) expect(y[i]).toBe(0.125 * scales[i >> 4]! * (L[i]! - 32));
  });

  it('refuses buffers too short for the values asked for', () => {
    expect(() => dequantizeQ4K(new Uint8Array(143), 256)).toThrow(/need 144 bytes/);
    expect(() => dequantizeQ8_0(new Uint8Array(34), 33)).toThrow(/not a whole number of 32-value blocks/);
  });
});

describe('ggml reference quantizers', () => {
  it('Q8_0: d = amax/127, q = round half away from zero', () => {
    const x = new Float32Array(32);
    x.set([127, 0.5, -0.5, 2.5, -2.5, 1.49, -127]);
    const block = quantizeQ8_0(x);
    expect(f16ToF32(block[0]! | (block[1]! << 8))).toBe(1);
    expect(Array.from(new Int8Array(block.buffer, 2, 7))).toEqual([127, 1, -1, 3, -3, 1, -127]);
  });

  it('Q4_0: d = max/−8 from the signed value of largest magnitude, q = min(15, trunc(x/d + 8.5))', () => {
    const neg = new Float32Array(32);
    neg.set([-4, 3.5, 1.25, 1.2, -0.25]);
    expect(Array.from(dequantizeQ4_0(quantizeQ4_0(neg), 32).subarray(0, 5))).toEqual([-4, 3.5, 1.5, 1, 0]);
    const pos = new Float32Array(32);
    pos.set([4, -4, 0.26]);
    // d = −0.5: 4 → q 0 → 4 exactly; −4 → 16.5 → clamped to 15 → −3.5 (the reference's asymmetry)
    expect(Array.from(dequantizeQ4_0(quantizeQ4_0(pos), 32).subarray(0, 3))).toEqual([4, -3.5, 0.5]);
  });

  it('Q8_0 and Q4_0 reconstruct random data within half a step', () => {
    const rng = seededRng('q8_0/q4_0 error bound');
    const x = rng.f32(32 * 64, -3, 3);
    for (const [quant, dequant, bytes, levels] of [
      [quantizeQ8_0, dequantizeQ8_0, 34, 127],
      [quantizeQ4_0, dequantizeQ4_0, 18, 8],
    ] as const) {
      const q = quant(x);
      const y = dequant(q, x.length);
      for (let b = 0; b < 64; b++) {
        const d = Math.abs(f16ToF32(q[b * bytes]! | (q[b * bytes + 1]! << 8)));
        const amax = Math.max(...Array.from(x.subarray(32 * b, 32 * b + 32), Math.abs));
        for (let j = 32 * b; j < 32 * b + 32; j++) {
          // half a step, plus the f16 rounding of d (relative 2^-11) times the largest |q|; a whole step where Q4_0 clamps
          const clampedTop = levels === 8 && Math.abs(x[j]!) > amax * (7.5 / 8);
          const bound = d * ((clampedTop ? 1 : 0.5) + levels * 2 ** -11) * 1.0001;
          expect(Math.abs(x[j]! - y[j]!)).toBeLessThanOrEqual(bound);
        }
      }
    }
  });

  it('Q4_K: valid blocks whose dequantization stays close to the input', () => {
    const rng = seededRng('q4_k reference quantizer');
    const x = Float32Array.from({ length: 256 * 8 }, () => 0.05 * rng.normal());
    const y = dequantizeQ4K(quantizeQ4K(x), x.length);
    let err2 = 0;
    let ref2 = 0;
    for (let i = 0; i < x.length; i++) {
      err2 += (x[i]! - y[i]!) ** 2;
      ref2 += x[i]! ** 2;
    }
    expect(Math.sqrt(err2 / ref2)).toBeLessThan(0.12);
    expect(Array.from(dequantizeQ4K(quantizeQ4K(new Float32Array(256)), 256))).toEqual(new Array(256).fill(0));
  });

  it('Q6_K: values within half a step of their sub-block, clamped ones within a step', () => {
    const rng = seededRng('q6_k reference quantizer');
    // the first 16 values of each block 4× larger: the other sub-blocks' int8 scales are then coarse
    const x = Float32Array.from({ length: 256 * 6 }, (_, i) => (i % 256 < 16 ? 4 : 0.05) * rng.normal());
    const bytes = quantizeQ6K(x);
    expect(bytes.length).toBe(6 * 210);
    const y = dequantizeQ6K(bytes, x.length);
    for (let j = 0; j < x.length / 16; j++) {
      const o = Math.floor(j / 16) * 210;
      const d = f16ToF32(bytes[o + 208]! | (bytes[o + 209]! << 8));
      // the sub-block's scale s = amax/32 is stored as d·sc with |d·sc − s| ≤ d/2; a value is clamped to q = 31 only
      // when it is beyond 31·(s − d/2), and is then within s + 16·d
      const s = Math.max(...Array.from(x.subarray(16 * j, 16 * j + 16), Math.abs)) / 32;
      for (let i = 16 * j; i < 16 * j + 16; i++) {
        const bound = Math.abs(x[i]!) > 31 * (s - d / 2) ? s + 16 * d : (s + d / 2) / 2;
        expect(Math.abs(x[i]! - y[i]!), `value ${i}`).toBeLessThanOrEqual(bound * 1.0001);
      }
    }
    let err2 = 0;
    let ref2 = 0;
    for (let i = 0; i < x.length; i++) {
      err2 += (x[i]! - y[i]!) ** 2;
      ref2 += x[i]! ** 2;
    }
    expect(Math.sqrt(err2 / ref2)).toBeLessThan(0.03);
    expect(Array.from(dequantizeQ6K(quantizeQ6K(new Float32Array(256)), 256))).toEqual(new Array(256).fill(0));
  });

  it('encodes F32/F16/BF16 tensors and decodes them exactly', () => {
    const values = Float32Array.from([0.1, -2, 65504, 1e-6, 3]);
    expect(dequantizeGguf('F32', encodeGgufTensor('F32', values, [5]), 5)).toEqual(values);
    expect(Array.from(dequantizeGguf('F16', encodeGgufTensor('F16', values, [5]), 5))).toEqual(
      Array.from(values, (v) => f16ToF32(f32ToF16(v))),
    );
    expect(Array.from(dequantizeGguf('BF16', encodeGgufTensor('BF16', values, [5]), 5))).toEqual(
      Array.from(values, (v) => bf16ToF32(f32ToBf16(v))),
    );
    expect(() => encodeGgufTensor('Q8_0', new Float32Array(48), [2, 24])).toThrow(/multiple of 32/);
  });
});
