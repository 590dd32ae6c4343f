/**
 * Host-side dequantization of GGUF tensors to f32, following ggml's reference code (layouts in docs/formats.md):
 * - Q8_0: 32 values in 34 bytes: f16 d, 32 × int8 q; y = q·d.
 * - Q4_0: 32 values in 18 bytes: f16 d, 16 bytes; byte j holds element j (low nibble) and j+16 (high); y = (q−8)·d.
 * - Q2_K: 256 values in 84 bytes: 16 bytes of 4-bit scale | 4-bit min, 64 bytes of 2-bit quants, f16 d, f16 dmin;
 *   y = d·sc·q − dmin·m per 16 values.
 * - Q3_K: 256 values in 110 bytes: 32 bytes of high bits, 64 bytes of 2-bit quants, 12 bytes of 6-bit scales, f16 d;
 *   y = d·(sc − 32)·(q − 4·(1 − h)) per 16 values.
 * - Q4_K: 256 values in 144 bytes: f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles; each 64
 *   values are two sub-blocks (low nibbles of 32 bytes, then their high nibbles); y = d·sc·q − dmin·m.
 * - Q5_K: 256 values in 176 bytes: as Q4_K plus 32 bytes of fifth bits (before the nibbles); q = nibble + 16·h.
 * - Q6_K: 256 values in 210 bytes: 128 bytes low 4 bits, 64 bytes high 2 bits, 16 int8 scales, f16 d; y = d·sc·(q−32).
 * Arithmetic is rounded to f32 at the same points as ggml's C code.
 */
import { bf16ToF32, f16ToF32 } from './half.ts';
import { GGML_TYPES, type GgmlType } from './gguf-types.ts';

const fr = Math.fround;

function f16At(b: Uint8Array, o: number): number {
  return f16ToF32(b[o]! | (b[o + 1]! << 8));
}

function checkLength(type: GgmlType, bytes: Uint8Array, count: number): void {
  const { blockSize, blockBytes } = GGML_TYPES[type];
  if (count % blockSize !== 0)
    throw new Error(`${type}: ${count} values is not a whole number of ${blockSize}-value blocks`);
  if (bytes.byteLength < (count / blockSize) * blockBytes) {
    throw new Error(`${type}: ${count} values need ${(count / blockSize) * blockBytes} bytes, got ${bytes.byteLength}`);
  }
}

export function dequantizeQ8_0(bytes: Uint8Array, count: number, out = new Float32Array(count)): Float32Array {
  checkLength('Q8_0', bytes, count);
  for (let b = 0; b < count / 32; b++) {
    const o = b * 34;
    const d = f16At(bytes, o);
    for (let j = 0; j < 32; j++) {
      const q = (bytes[o + 2 + j]! << 24) >> 24;
      out[b * 32 + j] = fr(q * d);
    }
  }
  return out;
}

export function dequantizeQ4_0(bytes: Uint8Array, count: number, out = new Float32Array(count)): Float32Array {
  checkLength('Q4_0', bytes, count);
  for (let b = 0; b < count / 32; b++) {
    const o = b * 18;
    const d = f16At(bytes, o);
    for (let j = 0; j < 16; j++) {
      const byte = bytes[o + 2 + j]!;
      out[b * 32 + j] = fr(((byte & 0x0f) - 8) * d);
      out[b * 32 + j + 16] = fr(((byte >> 4) - 8) * d);
    }
  }
  return out;
}

/** Scale and min of Q4_K sub-block j (0..7) from the 12 packed bytes starting at `s`. */
export function q4kScaleMin(b: Uint8Array, s: number, j: number): [number, number] {
  if (j < 4) return [b[s + j]! & 63, b[s + j + 4]! & 63];
  const sc = (b[s + j + 4]! & 15) | ((b[s + j - 4]! >> 6) << 4);
  const m = (b[s + j + 4]! >> 4) | ((b[s + j]! >> 6) << 4);
  return [sc, m];
}

export function dequantizeQ4K(bytes: Uint8Array, count: number, out = new Float32Array(count)): Float32Array {
  checkLength('Q4_K', bytes, count);
  for (let b = 0; b < count / 256; b++) {
    const o = b * 144;
    const d = f16At(bytes, o);
    const dmin = f16At(bytes, o + 2);
    const qs = o + 16;
    let y = b * 256;
    for (let g = 0; g < 4; g++) {
      const [sc1, m1i] = q4kScaleMin(bytes, o + 4, 2 * g);
      const [sc2, m2i] = q4kScaleMin(bytes, o + 4, 2 * g + 1);
      const d1 = fr(d * sc1);
      const m1 = fr(dmin * m1i);
      const d2 = fr(d * sc2);
      const m2 = fr(dmin * m2i);
      const q = qs + 32 * g;
      for (let l = 0; l < 32; l++) out[y++] = fr(fr(d1 * (bytes[q + l]! & 0x0f)) - m1);
      for (let l = 0; l < 32; l++) out[y++] = fr(fr(d2 * (bytes[q + l]! >> 4)) - m2);
    }
  }
  return out;
}

/** Q2_K: per 128 values, 32 bytes of 2-bit quants: value 32j + l (j < 4, l < 32) is bits 2j of byte l. */
export function dequantizeQ2K(bytes: Uint8Array, count: number, out = new Float32Array(count)): Float32Array {
  checkLength('Q2_K', bytes, count);
  for (let b = 0; b < count / 256; b++) {
    const o = b * 84;
    const d = f16At(bytes, o + 80);
    const dmin = f16At(bytes, o + 82);
    for (let i = 0; i < 256; i++) {
      const n = i >> 7;
      const j = (i >> 5) & 3;
      const l = i & 31;
      const sc = bytes[o + 8 * n + 2 * j + (l >> 4)]!;
      const q = (bytes[o + 16 + 32 * n + l]! >> (2 * j)) & 3;
      out[b * 256 + i] = fr(fr(fr(d * (sc & 15)) * q) - fr(dmin * (sc >> 4)));
    }
  }
  return out;
}

/** The 6-bit scale `is` (0..15) of a Q3_K block from its 12 packed bytes at `s` (before the − 32). */
export function q3kScale(b: Uint8Array, s: number, is: number): number {
  const low = (b[s + (is & 7)]! >> (4 * (is >> 3))) & 15;
  const high = (b[s + 8 + (is & 3)]! >> (2 * (is >> 2))) & 3;
  return low | (high << 4);
}

/** Q3_K: as Q2_K's quants, plus a high bit (bit 4n + j of byte l of hmask) that, when clear, subtracts 4. */
export function dequantizeQ3K(bytes: Uint8Array, count: number, out = new Float32Array(count)): Float32Array {
  checkLength('Q3_K', bytes, count);
  for (let b = 0; b < count / 256; b++) {
    const o = b * 110;
    const d = f16At(bytes, o + 108);
    for (let i = 0; i < 256; i++) {
      const n = i >> 7;
      const j = (i >> 5) & 3;
      const l = i & 31;
      const dl = fr(d * (q3kScale(bytes, o + 96, 8 * n + 2 * j + (l >> 4)) - 32));
      const h = (bytes[o + l]! >> (4 * n + j)) & 1;
      const q = ((bytes[o + 32 + 32 * n + l]! >> (2 * j)) & 3) - (h ? 0 : 4);
      out[b * 256 + i] = fr(dl * q);
    }
  }
  return out;
}

export function dequantizeQ5K(bytes: Uint8Array, count: number, out = new Float32Array(count)): Float32Array {
  checkLength('Q5_K', bytes, count);
  for (let b = 0; b < count / 256; b++) {
    const o = b * 176;
    const d = f16At(bytes, o);
    const dmin = f16At(bytes, o + 2);
    for (let i = 0; i < 256; i++) {
      const g = i >> 6;
      const hi = (i >> 5) & 1;
      const l = i & 31;
      const [sc, m] = q4kScaleMin(bytes, o + 4, 2 * g + hi);
      const nibble = (bytes[o + 48 + 32 * g + l]! >> (4 * hi)) & 15;
      const q = nibble + 16 * ((bytes[o + 16 + l]! >> (2 * g + hi)) & 1);
      out[b * 256 + i] = fr(fr(fr(d * sc) * q) - fr(dmin * m));
    }
  }
  return out;
}

export function dequantizeQ6K(bytes: Uint8Array, count: number, out = new Float32Array(count)): Float32Array {
  checkLength('Q6_K', bytes, count);
  for (let b = 0; b < count / 256; b++) {
    const o = b * 210;
    const d = f16At(bytes, o + 208);
    for (let half = 0; half < 2; half++) {
      const ql = o + 64 * half;
      const qh = o + 128 + 32 * half;
      const sc = o + 192 + 8 * half;
      const y = b * 256 + 128 * half;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = bytes[qh + l]!;
        const q1 = ((bytes[ql + l]! & 0xf) | ((h & 3) << 4)) - 32;
        const q2 = ((bytes[ql + l + 32]! & 0xf) | (((h >> 2) & 3) << 4)) - 32;
        const q3 = ((bytes[ql + l]! >> 4) | (((h >> 4) & 3) << 4)) - 32;
        const q4 = ((bytes[ql + l + 32]! >> 4) | (((h >> 6) & 3) << 4)) - 32;
        const s = (k: number): number => (bytes[sc + is + k]! << 24) >> 24;
        out[y + l] = fr(fr(d * s(0)) * q1);
        out[y + l + 32] = fr(fr(d * s(2)) * q2);
        out[y + l + 64] = fr(fr(d * s(4)) * q3);
        out[y + l + 96] = fr(fr(d * s(6)) * q4);
      }
    }
  }
  return out;
}

/** Any supported tensor type → f32 (`count` values). */
export function dequantizeGguf(type: GgmlType, bytes: Uint8Array, count: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  const need = (size: number): void => {
    if (bytes.byteLength < count * size)
      throw new Error(`${type}: ${count} values need ${count * size} bytes, got ${bytes.byteLength}`);
  };
  switch (type) {
    case 'F32':
      need(4);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    case 'F16':
      need(2);
      for (let i = 0; i < count; i++) out[i] = f16ToF32(view.getUint16(2 * i, true));
      return out;
    case 'BF16':
      need(2);
      for (let i = 0; i < count; i++) out[i] = bf16ToF32(view.getUint16(2 * i, true));
      return out;
    case 'F64':
      need(8);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    case 'I8':
      need(1);
      for (let i = 0; i < count; i++) out[i] = view.getInt8(i);
      return out;
    case 'I16':
      need(2);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * i, true);
      return out;
    case 'I32':
      need(4);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true);
      return out;
    case 'Q8_0':
      return dequantizeQ8_0(bytes, count, out);
    case 'Q4_0':
      return dequantizeQ4_0(bytes, count, out);
    case 'Q2_K':
      return dequantizeQ2K(bytes, count, out);
    case 'Q3_K':
      return dequantizeQ3K(bytes, count, out);
    case 'Q4_K':
      return dequantizeQ4K(bytes, count, out);
    case 'Q5_K':
      return dequantizeQ5K(bytes, count, out);
    case 'Q6_K':
      return dequantizeQ6K(bytes, count, out);
    default:
      throw new Error(
        `dequantization of ${type} tensors is not supported (supported: F32, F16, BF16, F64, I8, I16, I32, Q8_0, Q4_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K)`,
      );
  }
}
