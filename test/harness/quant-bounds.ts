/**
 * Quantize → dequantize error bounds, per element, as a ratio error / bound (≤ 1 passes):
 *   Q8_0  |x − q·d16| ≤ d/2 + |q|·|d − d16|           (half a step, plus the f16 rounding of the f32 scale d)
 *   Q4_0  |x − (q−8)·d16| ≤ |d|/2 + |q−8|·|d − d16|, or |d| (+ the same) where q = 15 was clamped (x/d ≥ 7.5)
 *   NF4   |x − code·absmax| ≤ absmax · (half the gap to the farther neighbouring code)
 * A slack of |x|·2^-22 covers the f32 roundings of 1/d and x·(1/d) (two relative errors of 2^-24 each).
 */
import { NF4_CODE_REF, dequantNf4Ref, dequantQ4_0Ref, dequantQ8_0Ref, f16ToNumberRef } from '../reference/quant.ts';

export function q8_0StepRatio(x: ArrayLike<number>, bytes: Uint8Array): number {
  const y = dequantQ8_0Ref(bytes, x.length);
  let worst = 0;
  for (let b = 0; b < x.length / 32; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]!));
    const d = Math.fround(amax / 127);
    const d16 = f16ToNumberRef(bytes[b * 34]! | (bytes[b * 34 + 1]! << 8));
    for (let j = 0; j < 32; j++) {
      const raw = bytes[b * 34 + 2 + j]!;
      const q = raw >= 128 ? raw - 256 : raw;
      const bound = d / 2 + Math.abs(x[b * 32 + j]!) * 2 ** -22 + Math.abs(q) * Math.abs(d - d16) + 1e-30;
      worst = Math.max(worst, Math.abs(x[b * 32 + j]! - y[b * 32 + j]!) / bound);
    }
  }
  return worst;
}

export function q4_0StepRatio(x: ArrayLike<number>, bytes: Uint8Array): number {
  const y = dequantQ4_0Ref(bytes, x.length);
  let worst = 0;
  for (let b = 0; b < x.length / 32; b++) {
    let max = 0;
    for (let k = 0; k < 32; k++) if (Math.abs(x[b * 32 + k]!) > Math.abs(max)) max = x[b * 32 + k]!;
    const d = Math.abs(Math.fround(max / -8));
    const d16 = Math.abs(f16ToNumberRef(bytes[b * 18]! | (bytes[b * 18 + 1]! << 8)));
    for (let j = 0; j < 32; j++) {
      const byte = bytes[b * 18 + 2 + (j % 16)]!;
      const q = j < 16 ? byte & 15 : byte >> 4;
      const clamped = q === 15 && d > 0 && Math.abs(x[b * 32 + j]! / d) > 7.5 - 1e-6;
      const bound =
        (clamped ? d : d / 2) + Math.abs(x[b * 32 + j]!) * 2 ** -22 + Math.abs(q - 8) * Math.abs(d - d16) + 1e-30;
      worst = Math.max(worst, Math.abs(x[b * 32 + j]! - y[b * 32 + j]!) / bound);
    }
  }
  return worst;
}

export function nf4StepRatio(x: ArrayLike<number>, packed: Uint8Array, absmax: ArrayLike<number>): number {
  const y = dequantNf4Ref(packed, absmax, x.length);
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const code = i % 2 === 0 ? packed[i >> 1]! >> 4 : packed[i >> 1]! & 15;
    const below = code > 0 ? NF4_CODE_REF[code]! - NF4_CODE_REF[code - 1]! : 0;
    const above = code < 15 ? NF4_CODE_REF[code + 1]! - NF4_CODE_REF[code]! : 0;
    const bound = (Math.max(below, above) / 2 + 2 ** -22) * absmax[Math.floor(i / 64)]! + 1e-30;
    worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / bound);
  }
  return worst;
}
