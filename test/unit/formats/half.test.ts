import { describe, expect, it } from 'vitest';
import {
  bf16ArrayToF32,
  bf16ToF32,
  f16ArrayToF32,
  f16ToF32,
  f32ArrayToBf16,
  f32ArrayToF16,
  f32Bits,
  f32FromBits,
  f32ToBf16,
  f32ToF16,
} from '../../../src/formats/half.ts';
import { seededRng } from '../../harness/rng.ts';

/** IEEE binary16 by its definition, in float64. */
function f16Definition(h: number): number {
  const s = h >> 15 ? -1 : 1;
  const e = (h >> 10) & 31;
  const m = h & 1023;
  if (e === 31) return m ? NaN : s * Infinity;
  return e === 0 ? s * Math.pow(2, -14) * (m / 1024) : s * Math.pow(2, e - 15) * (1 + m / 1024);
}

/** bfloat16 by its definition (8-bit exponent, 7-bit mantissa), in float64. */
function bf16Definition(b: number): number {
  const s = b >> 15 ? -1 : 1;
  const e = (b >> 7) & 255;
  const m = b & 127;
  if (e === 255) return m ? NaN : s * Infinity;
  return e === 0 ? s * Math.pow(2, -126) * (m / 128) : s * Math.pow(2, e - 127) * (1 + m / 128);
}

/** Round-to-nearest-even onto a sorted table of non-negative finite values (float64 comparisons); returns the index. */
function nearestEven(table: number[], x: number): number {
  let lo = 0;
  let hi = table.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (table[mid]! <= x) lo = mid;
    else hi = mid;
  }
  const dl = x - table[lo]!;
  const dh = table[hi]! - x;
  if (dl < dh) return lo;
  if (dh < dl) return hi;
  return lo % 2 === 0 ? lo : hi;
}

/** The f32 one step larger / smaller in magnitude. */
const nextUp = (x: number): number => f32FromBits(f32Bits(x) + 1);
const nextDown = (x: number): number => f32FromBits(f32Bits(x) - 1);

describe('f16', () => {
  it('decodes all 65536 bit patterns like the float64 definition', () => {
    for (let h = 0; h < 65536; h++) {
      const want = f16Definition(h);
      const got = f16ToF32(h);
      if (Number.isNaN(want)) expect(Number.isNaN(got)).toBe(true);
      else if (!Object.is(got, want)) throw new Error(`f16 ${h.toString(16)}: got ${got}, want ${want}`);
    }
  });

  it('encodes every decoded value back to the same bits (signed zeros, subnormals, infinities; NaN stays NaN)', () => {
    for (let h = 0; h < 65536; h++) {
      const back = f32ToF16(f16ToF32(h));
      if (Number.isNaN(f16Definition(h))) expect(Number.isNaN(f16ToF32(back))).toBe(true);
      else if (back !== h) throw new Error(`f16 ${h.toString(16)} → ${back.toString(16)}`);
    }
  });

  it('rounds every midpoint between neighbours to the even one, and its f32 neighbours to the nearer one', () => {
    for (let h = 0; h < 0x7bff; h++) {
      for (const sign of [0, 0x8000]) {
        const a = f16ToF32(h | sign);
        const b = f16ToF32((h + 1) | sign);
        const mid = Math.fround((a + b) / 2);
        expect((a + b) / 2).toBe(mid);
        const even = h % 2 === 0 ? h : h + 1;
        if (f32ToF16(mid) !== (even | sign))
          throw new Error(`midpoint of ${h.toString(16)}: got ${f32ToF16(mid).toString(16)}`);
        // one f32 step away from the midpoint in magnitude (bit patterns order magnitudes for both signs)
        const towardB = nextUp(mid);
        const towardA = nextDown(mid);
        if (f32ToF16(towardB) !== ((h + 1) | sign) || f32ToF16(towardA) !== (h | sign))
          throw new Error(`neighbours of midpoint ${h.toString(16)}`);
      }
    }
  });

  it('overflows to infinity exactly from 65520 (ties to even past the largest finite value) and underflows below 2^-25', () => {
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(nextDown(65520))).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00);
    expect(f32ToF16(-1e10)).toBe(0xfc00);
    expect(f32ToF16(2 ** -25)).toBe(0);
    expect(f32ToF16(nextUp(2 ** -25))).toBe(1);
    expect(f32ToF16(-(2 ** -26))).toBe(0x8000);
    expect(f32ToF16(Infinity)).toBe(0x7c00);
    expect(Number.isNaN(f16ToF32(f32ToF16(NaN)))).toBe(true);
  });

  it('matches float64 nearest-even rounding on random f32 bit patterns', () => {
    const rng = seededRng('f16 random rounding');
    const table = Array.from({ length: 0x7c00 }, (_, h) => f16Definition(h));
    table.push(65536); // the first value past the largest finite f16 stands for infinity
    for (let i = 0; i < 200_000; i++) {
      const x = f32FromBits(rng.int(0, 2 ** 32));
      if (!Number.isFinite(x)) continue;
      const idx = nearestEven(table, Math.abs(x));
      const want = (x < 0 || Object.is(x, -0) ? 0x8000 : 0) | idx;
      if (f32ToF16(x) !== want) throw new Error(`f32 ${x}: got ${f32ToF16(x).toString(16)}, want ${want.toString(16)}`);
    }
  });

  it('array helpers agree with the scalar functions', () => {
    const values = Float32Array.from([0, -0, 1, -2.5, 65504, 1e-7, 3.14159]);
    const bits = f32ArrayToF16(values);
    expect(Array.from(bits)).toEqual(Array.from(values, (v) => f32ToF16(v)));
    expect(Array.from(f16ArrayToF32(bits))).toEqual(Array.from(bits, (b) => f16ToF32(b)));
  });
});

describe('bf16', () => {
  it('decodes all 65536 bit patterns like the float64 definition and encodes them back', () => {
    for (let b = 0; b < 65536; b++) {
      const want = bf16Definition(b);
      const got = bf16ToF32(b);
      if (Number.isNaN(want)) {
        expect(Number.isNaN(got)).toBe(true);
        expect(Number.isNaN(bf16ToF32(f32ToBf16(got)))).toBe(true);
      } else {
        if (!Object.is(got, want)) throw new Error(`bf16 ${b.toString(16)}: got ${got}, want ${want}`);
        if (f32ToBf16(got) !== b) throw new Error(`bf16 ${b.toString(16)} → ${f32ToBf16(got).toString(16)}`);
      }
    }
  });

  it('rounds midpoints to even and their neighbours to the nearer value, across the whole finite range', () => {
    for (let b = 0; b < 0x7f7f; b++) {
      const a = bf16ToF32(b);
      const c = bf16ToF32(b + 1);
      const mid = Math.fround((a + c) / 2);
      const even = b % 2 === 0 ? b : b + 1;
      if (f32ToBf16(mid) !== even) throw new Error(`midpoint of ${b.toString(16)}`);
      if (f32ToBf16(nextUp(mid)) !== b + 1 || f32ToBf16(nextDown(mid)) !== b)
        throw new Error(`neighbours of ${b.toString(16)}`);
      if (f32ToBf16(-mid) !== (even | 0x8000)) throw new Error(`negative midpoint of ${b.toString(16)}`);
    }
    expect(f32ToBf16(3.4028234663852886e38)).toBe(0x7f80); // f32 max rounds up to infinity
    expect(Number.isNaN(bf16ToF32(f32ToBf16(NaN)))).toBe(true);
    expect(Array.from(bf16ArrayToF32(f32ArrayToBf16([1, -2, 0.1])))).toEqual([1, -2, bf16ToF32(f32ToBf16(0.1))]);
  });
});
