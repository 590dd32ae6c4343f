/**
 * Simple reference quantizers for the GGUF K-quants Q2_K, Q3_K and Q5_K (Q4_K and Q6_K are in ./gguf-quant.ts),
 * and the 6-bit scale packing of Q4_K / Q5_K, for fixtures and tests: not ggml's iterative search for the best scales, but valid blocks in ggml's layouts
 * (docs/formats.md) whose dequantization stays within about half a quantization step of the input.
 * - Q2_K / Q5_K: per 16 (Q2_K) or 32 (Q5_K) values, min = min(0, min x) and scale = (max − min)/levels; scales
 *   and mins are quantized to 4 (Q2_K) or 6 (Q5_K) bits against d = max scale/top and dmin = max min/top.
 * - Q3_K: symmetric; per 16 values scale = max|x|/4 (q in −4..3), quantized to 6 bits (stored + 32) against
 *   d = max scale/31.
 * Values are then quantized against the effective (quantized) scale and min, with the f16-rounded d and dmin.
 */
import { f16ToF32, f32ToF16 } from './half.ts';

const fr = Math.fround;
const clamp = (v: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, v));
/** An f16-rounded value, as the block stores it. */
const asF16 = (v: number): number => f16ToF32(f32ToF16(v));

/** Packs eight 6-bit scales and mins into the 12-byte Q4_K layout (inverse of `q4kScaleMin`). */
export function packQ4KScales(scales: readonly number[], mins: readonly number[]): Uint8Array {
  const s = new Uint8Array(12);
  for (let j = 0; j < 8; j++) {
    const sc = scales[j]!;
    const m = mins[j]!;
    if (sc < 0 || sc > 63 || m < 0 || m > 63)
      throw new Error(`Q4_K scales and mins are 6-bit (0..63), got ${sc} and ${m}`);
    if (j < 4) {
      s[j]! |= sc;
      s[j + 4]! |= m;
    } else {
      s[j + 4] = (sc & 15) | ((m & 15) << 4);
      s[j - 4]! |= (sc >> 4) << 6;
      s[j]! |= (m >> 4) << 6;
    }
  }
  return s;
}

function setF16(out: Uint8Array, o: number, value: number): void {
  const h = f32ToF16(value);
  out[o] = h & 0xff;
  out[o + 1] = h >> 8;
}

function blocksOf(type: string, n: number): number {
  if (n % 256 !== 0) throw new Error(`${type} quantization needs a multiple of 256 values, got ${n}`);
  return n / 256;
}

/** Per sub-block of `size` values of block b: [scale, min] with min = −min(0, min x), scale = (max + min)/levels. */
function scaleMins(x: ArrayLike<number>, b: number, size: number, levels: number): [number[], number[]] {
  const scales: number[] = [];
  const mins: number[] = [];
  for (let j = 0; j < 256 / size; j++) {
    let lo = 0;
    let hi = -Infinity;
    for (let l = 0; l < size; l++) {
      const v = fr(x[256 * b + size * j + l]!);
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    scales.push((hi - lo) / levels);
    mins.push(-lo);
  }
  return [scales, mins];
}

/** Quantized scales (0..top) against d = max/top (f16-rounded); returns [d, the integer scales]. */
function quantizeScales(values: number[], top: number): [number, number[]] {
  const d = asF16(Math.max(...values) / top);
  return [d, values.map((v) => (d > 0 ? clamp(Math.round(v / d), 0, top) : 0))];
}

export function quantizeQ2K(x: ArrayLike<number>): Uint8Array {
  const blocks = blocksOf('Q2_K', x.length);
  const out = new Uint8Array(blocks * 84);
  for (let b = 0; b < blocks; b++) {
    const o = b * 84;
    const [scales, mins] = scaleMins(x, b, 16, 3);
    const [d, sc] = quantizeScales(scales, 15);
    const [dmin, mn] = quantizeScales(mins, 15);
    for (let j = 0; j < 16; j++) out[o + j] = sc[j]! | (mn[j]! << 4);
    for (let i = 0; i < 256; i++) {
      const j = i >> 4;
      const step = d * sc[j]!;
      const q = step > 0 ? clamp(Math.round((fr(x[256 * b + i]!) + dmin * mn[j]!) / step), 0, 3) : 0;
      // Value 128n + 32s + l sits in bits 2s of byte 32n + l.
      out[o + 16 + 32 * (i >> 7) + (i & 31)]! |= q << (2 * ((i >> 5) & 3));
    }
    setF16(out, o + 80, d);
    setF16(out, o + 82, dmin);
  }
  return out;
}

export function quantizeQ3K(x: ArrayLike<number>): Uint8Array {
  const blocks = blocksOf('Q3_K', x.length);
  const out = new Uint8Array(blocks * 110);
  for (let b = 0; b < blocks; b++) {
    const o = b * 110;
    const scales: number[] = [];
    for (let j = 0; j < 16; j++) {
      let amax = 0;
      for (let l = 0; l < 16; l++) amax = Math.max(amax, Math.abs(fr(x[256 * b + 16 * j + l]!)));
      scales.push(amax / 4);
    }
    const [d, sc] = quantizeScales(scales, 31);
    for (let j = 0; j < 16; j++) {
      const stored = sc[j]! + 32; // 6 bits: low 4 in byte j % 8 (nibble j / 8), high 2 in byte 8 + j % 4
      out[o + 96 + (j % 8)]! |= (stored & 15) << (4 * (j >> 3));
      out[o + 104 + (j % 4)]! |= (stored >> 4) << (2 * (j >> 2));
    }
    for (let i = 0; i < 256; i++) {
      const step = d * sc[i >> 4]!;
      const q = (step > 0 ? clamp(Math.round(fr(x[256 * b + i]!) / step), -4, 3) : 0) + 4;
      const n = i >> 7;
      const s = (i >> 5) & 3;
      const l = i & 31;
      out[o + 32 + 32 * n + l]! |= (q & 3) << (2 * s);
      if (q & 4) out[o + l]! |= 1 << (4 * n + s); // the high bit set means "no − 4"
    }
    setF16(out, o + 108, d);
  }
  return out;
}

export function quantizeQ5K(x: ArrayLike<number>): Uint8Array {
  const blocks = blocksOf('Q5_K', x.length);
  const out = new Uint8Array(blocks * 176);
  for (let b = 0; b < blocks; b++) {
    const o = b * 176;
    const [scales, mins] = scaleMins(x, b, 32, 31);
    const [d, sc] = quantizeScales(scales, 63);
    const [dmin, mn] = quantizeScales(mins, 63);
    setF16(out, o, d);
    setF16(out, o + 2, dmin);
    out.set(packQ4KScales(sc, mn), o + 4);
    for (let i = 0; i < 256; i++) {
      const j = i >> 5;
      const step = d * sc[j]!;
      const q = step > 0 ? clamp(Math.round((fr(x[256 * b + i]!) + dmin * mn[j]!) / step), 0, 31) : 0;
      // Value 64g + 32h + l: nibble h of byte 32g + l, fifth bit in bit 2g + h of byte l.
      const g = i >> 6;
      const h = (i >> 5) & 1;
      const l = i & 31;
      out[o + 48 + 32 * g + l]! |= (q & 15) << (4 * h);
      if (q & 16) out[o + 16 + l]! |= 1 << (2 * g + h);
    }
  }
  return out;
}
