import { describe, expect, it } from 'vitest';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../src/formats/half.ts';
import { NF4_CODE, joinGgufBlocks, nf4Arrays, packHalves, splitGgufBlocks } from '../../src/formats/quant-blocks.ts';
import { planRowChunks } from '../../src/kernels/weight-chunks.ts';
import { NF4_KNOWN, Q4_0_KNOWN, Q8_0_KNOWN, layerLikeWeights } from '../fixtures/quant-known.ts';
import { nf4StepRatio, q4_0StepRatio, q8_0StepRatio } from '../harness/quant-bounds.ts';
import { Rng, seededRng } from '../harness/rng.ts';
import { matmulBackwardInputRef, matmulForwardRef } from '../reference/matmul.ts';
import {
  NF4_CODE_REF,
  NF4_MIDPOINTS_REF,
  bf16ToNumberRef,
  dequantNf4Ref,
  dequantQ4_0Ref,
  dequantQ8_0Ref,
  f16BitsRef,
  f16ToNumberRef,
  quantizeNf4Ref,
  quantizeQ4_0Ref,
  quantizeQ8_0Ref,
} from '../reference/quant.ts';

describe('dequantizing known blocks', () => {
  it('GGUF Q8_0 gives q·d', () => {
    expect(Array.from(dequantQ8_0Ref(Q8_0_KNOWN.bytes, 64))).toEqual(Q8_0_KNOWN.values);
  });
  it('GGUF Q4_0 gives (q − 8)·d, element j in the low nibble and j+16 in the high nibble', () => {
    expect(Array.from(dequantQ4_0Ref(Q4_0_KNOWN.bytes, 64))).toEqual(Q4_0_KNOWN.values);
  });
  it('NF4 gives code·absmax, the first element in the high nibble', () => {
    expect(Array.from(dequantNf4Ref(NF4_KNOWN.packed, NF4_KNOWN.absmax, 64))).toEqual(NF4_KNOWN.values);
  });
});

describe('reference quantizers on hand-checked blocks', () => {
  it('Q8_0: d = amax/127 and roundf sends halves away from zero', () => {
    // amax 127 → d = 1, id = 1: 2.5 → 3 and −2.5 → −3 (round-half-even would give ±2), 0.49 → 0, 126.5 → 127.
    const x = new Float32Array(32);
    x.set([127, 2.5, -2.5, 0.49, 126.5, -0.5, 1.5, -127]);
    const bytes = quantizeQ8_0Ref(x);
    expect([bytes[0], bytes[1]]).toEqual([0x00, 0x3c]); // f16 1.0
    expect(Array.from(bytes.subarray(2, 10))).toEqual([127, 3, 0xfd, 0, 127, 0xff, 2, 0x81]);
    expect(Array.from(bytes.subarray(10))).toEqual(new Array(24).fill(0));
  });
  it('Q4_0: d = max / −8 from the first value of largest magnitude, q = min(15, trunc(x/d + 8.5))', () => {
    // max = −8 (first of ±8) → d = 1, id = 1; x + 8.5 truncated: −8 → 0, 8 → 16 → clamped to 15, 0.5 → 9, −0.5 → 8, 7.4 → 15.
    const x = new Float32Array(32);
    x.set([-8, 8, 0.5, -0.5, 7.4, 3.99]);
    x[16] = 1;
    x[17] = -7.6;
    const bytes = quantizeQ4_0Ref(x);
    expect([bytes[0], bytes[1]]).toEqual([0x00, 0x3c]);
    expect(Array.from(bytes.subarray(2, 8))).toEqual([
      0 | (9 << 4),
      15 | (0 << 4),
      9 | (8 << 4),
      8 | (8 << 4),
      15 | (8 << 4),
      12 | (8 << 4),
    ]);
    // Starting with +8 instead: max = +8 → d = −1.
    x[0] = 8;
    x[1] = -8;
    expect([quantizeQ4_0Ref(x)[0], quantizeQ4_0Ref(x)[1]]).toEqual([0x00, 0xbc]);
  });
  it('Q4_0 of an all-zero block stores d = −0 (0 / −8 in ggml) and q = 8', () => {
    const bytes = quantizeQ4_0Ref(new Float32Array(32));
    expect([bytes[0], bytes[1]]).toEqual([0x00, 0x80]);
    expect(Array.from(bytes.subarray(2))).toEqual(new Array(16).fill(0x88));
  });
  it('NF4: the nearest code, midpoints going to the lower code; midpoints equal bitsandbytes literals', () => {
    // The decision constants of bitsandbytes' dQuantizeNF4, in increasing order, as f32.
    const bnb = [
      -0.8480964004993439, -0.6106329262256622, -0.4599952697753906, -0.33967943489551544, -0.23460740596055984,
      -0.13791173323988914, -0.045525018125772476, 0.03979014977812767, 0.1202552504837513, 0.2035212516784668,
      0.2920137718319893, 0.3893125355243683, 0.5016634166240692, 0.6427869200706482, 0.8614784181118011,
    ].map(Math.fround);
    expect(NF4_MIDPOINTS_REF).toEqual(bnb);
    const x = new Float32Array(64);
    x.set([1, -1, 0, NF4_MIDPOINTS_REF[7]!, Math.fround(NF4_MIDPOINTS_REF[7]! * (1 + 2 ** -20)), 0.5, -0.3]);
    const { packed, absmax } = quantizeNf4Ref(x);
    expect(absmax[0]).toBe(1);
    // codes: 1 → 15, −1 → 0, 0 → 7, midpoint(0, 0.0796) → 7 (lower), just above → 8, 0.5 → 12 (0.4407), −0.3 → 4 (−0.2844)
    expect(Array.from(packed.subarray(0, 4))).toEqual([(15 << 4) | 0, (7 << 4) | 7, (8 << 4) | 12, (4 << 4) | 7]);
    expect(Array.from(quantizeNf4Ref(new Float32Array(64)).packed)).toEqual(new Array(32).fill(0));
  });
});

describe('quantize → dequantize error (reference quantizers)', () => {
  const rng = seededRng('quant error bounds');
  const x = layerLikeWeights(rng, 64 * 400, 64);

  it('Q8_0: |x − q·d16| ≤ d/2 (plus the f16 rounding of d, |q|·|d − d16|)', () => {
    expect(q8_0StepRatio(x, quantizeQ8_0Ref(x))).toBeLessThanOrEqual(1);
  });

  it('Q4_0: |x − (q−8)·d16| ≤ |d|/2 except clamped q = 15 (≤ |d|), plus the f16 rounding of d', () => {
    expect(q4_0StepRatio(x, quantizeQ4_0Ref(x))).toBeLessThanOrEqual(1);
  });

  it('NF4: |x − code·absmax| ≤ half the gap to the farther neighbouring code, × absmax', () => {
    const { packed, absmax } = quantizeNf4Ref(x);
    expect(nf4StepRatio(x, packed, absmax)).toBeLessThanOrEqual(1);
  });

  it('the bounds have teeth: a quant off by one step fails them', () => {
    const bytes = quantizeQ8_0Ref(x);
    bytes[2 + 5] = (bytes[2 + 5]! + 1) & 0xff;
    expect(q8_0StepRatio(x, bytes)).toBeGreaterThan(1);
    const q4 = quantizeQ4_0Ref(x);
    q4[2] = q4[2]! ^ 1;
    expect(q4_0StepRatio(x, q4)).toBeGreaterThan(1);
    const nf4 = quantizeNf4Ref(x);
    nf4.packed[0] = nf4.packed[0]! ^ 0x10;
    expect(nf4StepRatio(x, nf4.packed, nf4.absmax)).toBeGreaterThan(1);
  });

  it('the input gradient of a dequantized weight matches central finite differences', () => {
    const [N, K, M] = [2, 32, 3];
    const xin = Array.from({ length: N * K }, () => rng.uniform());
    const w = dequantQ4_0Ref(quantizeQ4_0Ref(layerLikeWeights(rng, M * K, 32)), M * K);
    const dy = Array.from({ length: N * M }, () => rng.uniform());
    const loss = (xv: number[]) => matmulForwardRef(xv, w, undefined, N, K, M).reduce((s, v, i) => s + v * dy[i]!, 0);
    const dx = matmulBackwardInputRef(dy, w, N, K, M);
    const h = 1e-6;
    for (let i = 0; i < N * K; i++) {
      const plus = xin.slice();
      const minus = xin.slice();
      plus[i]! += h;
      minus[i]! -= h;
      expect(Math.abs((loss(plus) - loss(minus)) / (2 * h) - dx[i]!)).toBeLessThan(1e-6 * (1 + Math.abs(dx[i]!)));
    }
  });
});

describe('GGUF block repacking', () => {
  it('split then join returns the GGUF bytes, and the GPU arrays hold the scales and quants in order', () => {
    const rng = seededRng('gguf repack');
    for (const format of ['q8_0', 'q4_0'] as const) {
      const stride = format === 'q8_0' ? 34 : 18;
      const bytes = new Uint8Array(stride * 7).map(() => rng.int(0, 256));
      const arrays = splitGgufBlocks(format, bytes, 7 * 32);
      expect(arrays.scales.byteLength).toBe(14);
      expect(arrays.quants.byteLength).toBe(7 * (stride - 2));
      expect(Array.from(arrays.scales.subarray(4, 6))).toEqual(Array.from(bytes.subarray(2 * stride, 2 * stride + 2)));
      expect(Array.from(arrays.quants.subarray(2 * (stride - 2), 3 * (stride - 2)))).toEqual(
        Array.from(bytes.subarray(2 * stride + 2, 3 * stride)),
      );
      expect(Array.from(joinGgufBlocks(format, arrays, 7 * 32))).toEqual(Array.from(bytes));
    }
  });
  it('refuses sizes that are not whole blocks', () => {
    expect(() => splitGgufBlocks('q4_0', new Uint8Array(18), 33)).toThrow(/multiple of 32/);
    expect(() => splitGgufBlocks('q8_0', new Uint8Array(33), 32)).toThrow(/34 bytes/);
    expect(() => nf4Arrays(new Uint8Array(32), new Float32Array(2), 64)).toThrow(/absmax/);
  });
  it('NF4_CODE matches the reference code book', () => {
    expect(NF4_CODE).toEqual(NF4_CODE_REF);
    expect(NF4_CODE.every((v) => Math.fround(v) === v)).toBe(true);
  });
});

describe('f16 / bf16 conversions', () => {
  it('decode every f16 and bf16 bit pattern exactly', () => {
    for (let h = 0; h < 0x10000; h++) {
      const e = (h >> 10) & 31;
      if (e === 31 && (h & 0x3ff) !== 0) continue; // NaNs
      expect(f16ToF32(h)).toBe(f16ToNumberRef(h));
      if (((h >> 7) & 0xff) !== 0xff) expect(bf16ToF32(h)).toBe(bf16ToNumberRef(h));
    }
  });
  it('encode f32 → f16 with round-to-nearest-even, like the float64 reference', () => {
    const rng = seededRng('f16 encode');
    const cases: number[] = [
      0,
      -0,
      65504,
      65519.99,
      65520,
      1e6,
      2 ** -24,
      2 ** -25,
      2 ** -25 * 1.0000001,
      3 * 2 ** -26,
      2 ** -14,
      2 ** -14 - 2 ** -25,
      1 + 2 ** -11,
      1 + 3 * 2 ** -11,
    ];
    for (let i = 0; i < 20000; i++) cases.push(Math.fround(rng.normal() * 10 ** rng.uniform(-9, 5)));
    // exact ties between two f16 values in every binade, and their neighbours
    for (let e = -24; e < 16; e++)
      for (let m = 0; m < 8; m++) cases.push(Math.fround((1 + (2 * m + 1) / 2048) * 2 ** e));
    for (const x of cases) {
      const v = Math.fround(x);
      expect(f32ToF16(v), `x = ${v}`).toBe(f16BitsRef(v));
      expect(f32ToF16(-v), `x = ${-v}`).toBe(f16BitsRef(-v));
    }
    expect(f32ToF16(-0)).toBe(0x8000);
  });
  it('encode f32 → bf16 with round-to-nearest-even', () => {
    expect(f32ToBf16(1)).toBe(0x3f80);
    expect(f32ToBf16(Math.fround(1 + 2 ** -8))).toBe(0x3f80); // tie → even (down)
    expect(f32ToBf16(Math.fround(1 + 3 * 2 ** -8))).toBe(0x3f82); // tie → even (up)
    expect(f32ToBf16(Math.fround(1 + 2 ** -8 + 2 ** -20))).toBe(0x3f81);
  });
  it('pack halves two per u32, element 2i low', () => {
    expect(Array.from(packHalves([0x1234, 0xabcd, 0x0001]))).toEqual([0xabcd1234, 0x00000001]);
  });
});

describe('row chunk planning', () => {
  const fakeBuffer = (size: number) => ({ size }) as GPUBuffer;
  it('keeps a weight whole when every array fits one binding', () => {
    const chunks = planRowChunks(
      [{ name: 'data', buffer: fakeBuffer(4000), rowBytes: 40 }],
      100,
      { maxBindingBytes: 4000, offsetAlignment: 256 },
      't',
    );
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.bindings[0]).toEqual({ buffer: fakeBuffer(4000), offset: 0, size: 4000 });
  });
  it('splits into aligned chunks within the limit that cover every row once', () => {
    const rng = new Rng(7);
    for (let t = 0; t < 200; t++) {
      const rows = rng.int(1, 3000);
      const rowBytes = [rng.int(1, 300) * 2, rng.int(1, 50) * 4];
      const limits = { maxBindingBytes: rng.int(4096, 65536) * 4, offsetAlignment: [32, 64, 256][rng.int(0, 3)]! };
      const arrays = rowBytes.map((rb, i) => ({
        name: `a${i}`,
        buffer: fakeBuffer(Math.ceil((rb * rows) / 4) * 4),
        rowBytes: rb,
      }));
      let chunks;
      try {
        chunks = planRowChunks(arrays, rows, limits, 't');
      } catch (err) {
        expect((err as Error).message).toMatch(/cannot split/);
        continue;
      }
      let next = 0;
      for (const c of chunks) {
        expect(c.row0).toBe(next);
        next += c.rows;
        c.bindings.forEach((b, i) => {
          const { offset = 0, size = 0 } = b as { offset?: number; size?: number };
          if (chunks.length > 1) expect(offset % limits.offsetAlignment).toBe(0);
          expect(offset).toBe(c.row0 * rowBytes[i]!);
          expect(size).toBeLessThanOrEqual(limits.maxBindingBytes);
          expect(size % 4).toBe(0);
          expect(offset + size).toBeLessThanOrEqual(arrays[i]!.buffer.size);
          expect(size).toBeGreaterThanOrEqual(c.rows * rowBytes[i]!);
        });
      }
      expect(next).toBe(rows);
    }
  });
  it('explains when no aligned chunk fits', () => {
    expect(() =>
      planRowChunks(
        [{ name: 'data', buffer: fakeBuffer(1 << 20), rowBytes: 2 }],
        1 << 19,
        { maxBindingBytes: 128, offsetAlignment: 256 },
        'w',
      ),
    ).toThrow(/cannot split the weight into bindings of at most 128 bytes/);
  });
});
