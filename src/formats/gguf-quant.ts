/**
 * Host quantizers for GGUF blocks (fixtures and exports) and `encodeGgufTensor` (f32 values → tensor bytes).
 * Q2_K, Q3_K and Q5_K are in ./gguf-quant-k.ts.
 * - Q8_0 and Q4_0 follow ggml's reference quantizers, f32 rounding points included:
 *   Q8_0: d = amax/127, q = round(x/d) (half away from zero); Q4_0: d = max/−8 with max the value of largest
 *   magnitude, q = min(15, trunc(x/d + 8.5)). Both store d as f16 but quantize with the f32 d, like ggml.
 * - Q4_K: a simple reference (not ggml's iterative search): per 32-value sub-block, min = min(0, min x) and
 *   scale = (max − min)/15; scales and mins are quantized to 6 bits against d = max scale/63 and
 *   dmin = max min/63; values are then quantized against the effective (6-bit) scale and min.
 * - Q6_K: a simple reference too: per 16-value sub-block, scale = (value of largest magnitude)/−32 (so it maps to
 *   q = −32 exactly, like Q4_0's sign trick); the scales are quantized to int8 against d = (largest |scale|)/127,
 *   values to q ∈ [−32, 31] against the effective scale d·sc.
 */
import { packQ4KScales, quantizeQ2K, quantizeQ3K, quantizeQ5K } from './gguf-quant-k.ts';
import { f16ToF32, f32ArrayToBf16, f32ArrayToF16, f32ToF16 } from './half.ts';
import { GGML_TYPES, type GgmlType } from './gguf-types.ts';

export { packQ4KScales };

const fr = Math.fround;

/** C `roundf`: half away from zero. */
function roundf(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

function setF16(out: Uint8Array, o: number, value: number): void {
  const h = f32ToF16(value);
  out[o] = h & 0xff;
  out[o + 1] = h >> 8;
}

function checkBlocks(type: GgmlType, n: number): number {
  const { blockSize } = GGML_TYPES[type];
  if (n % blockSize !== 0) throw new Error(`${type} quantization needs a multiple of ${blockSize} values, got ${n}`);
  return n / blockSize;
}

export function quantizeQ8_0(x: ArrayLike<number>): Uint8Array {
  const blocks = checkBlocks('Q8_0', x.length);
  const out = new Uint8Array(blocks * 34);
  for (let b = 0; b < blocks; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(fr(x[b * 32 + j]!)));
    const d = fr(amax / 127);
    const id = d !== 0 ? fr(1 / d) : 0;
    setF16(out, b * 34, d);
    for (let j = 0; j < 32; j++) out[b * 34 + 2 + j] = roundf(fr(fr(x[b * 32 + j]!) * id)) & 0xff;
  }
  return out;
}

export function quantizeQ4_0(x: ArrayLike<number>): Uint8Array {
  const blocks = checkBlocks('Q4_0', x.length);
  const out = new Uint8Array(blocks * 18);
  for (let b = 0; b < blocks; b++) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = fr(x[b * 32 + j]!);
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fr(max / -8);
    const id = d !== 0 ? fr(1 / d) : 0;
    setF16(out, b * 18, d);
    for (let j = 0; j < 16; j++) {
      const x0 = fr(fr(x[b * 32 + j]!) * id);
      const x1 = fr(fr(x[b * 32 + 16 + j]!) * id);
      const q0 = Math.min(15, Math.trunc(fr(x0 + 8.5)));
      const q1 = Math.min(15, Math.trunc(fr(x1 + 8.5)));
      out[b * 18 + 2 + j] = q0 | (q1 << 4);
    }
  }
  return out;
}

export function quantizeQ4K(x: ArrayLike<number>): Uint8Array {
  const blocks = checkBlocks('Q4_K', x.length);
  const out = new Uint8Array(blocks * 144);
  const subScale = new Float64Array(8);
  const subMin = new Float64Array(8);
  for (let b = 0; b < blocks; b++) {
    const base = b * 256;
    for (let j = 0; j < 8; j++) {
      let lo = 0;
      let hi = -Infinity;
      for (let l = 0; l < 32; l++) {
        const v = fr(x[base + 32 * j + l]!);
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      subScale[j] = (hi - lo) / 15;
      subMin[j] = -lo;
    }
    const dF = f16ToF32(f32ToF16(Math.max(...subScale) / 63));
    const dminF = f16ToF32(f32ToF16(Math.max(...subMin) / 63));
    const scales: number[] = [];
    const mins: number[] = [];
    for (let j = 0; j < 8; j++) {
      scales.push(dF > 0 ? Math.min(63, Math.round(subScale[j]! / dF)) : 0);
      mins.push(dminF > 0 ? Math.min(63, Math.round(subMin[j]! / dminF)) : 0);
    }
    const o = b * 144;
    setF16(out, o, dF);
    setF16(out, o + 2, dminF);
    out.set(packQ4KScales(scales, mins), o + 4);
    for (let g = 0; g < 4; g++) {
      for (let half = 0; half < 2; half++) {
        const j = 2 * g + half;
        const step = dF * scales[j]!;
        const offset = dminF * mins[j]!;
        for (let l = 0; l < 32; l++) {
          const v = fr(x[base + 32 * j + l]!);
          const q = step > 0 ? Math.max(0, Math.min(15, Math.round((v + offset) / step))) : 0;
          out[o + 16 + 32 * g + l]! |= half === 0 ? q : q << 4;
        }
      }
    }
  }
  return out;
}

export function quantizeQ6K(x: ArrayLike<number>): Uint8Array {
  const blocks = checkBlocks('Q6_K', x.length);
  const out = new Uint8Array(blocks * 210);
  const sub = new Float64Array(16);
  for (let b = 0; b < blocks; b++) {
    const base = b * 256;
    for (let j = 0; j < 16; j++) {
      let max = 0;
      for (let l = 0; l < 16; l++) {
        const v = fr(x[base + 16 * j + l]!);
        if (Math.abs(v) > Math.abs(max)) max = v;
      }
      sub[j] = max / -32;
    }
    const amax = Math.max(...Array.from(sub, Math.abs));
    const d = f16ToF32(f32ToF16(amax / 127));
    const o = b * 210;
    setF16(out, o + 208, d);
    // value i of the block: half h = i >> 7, then within the half l = i & 31 and quarter k = (i >> 5) & 3;
    // ql holds bits 0–3 (quarters 0/1 low nibbles of bytes l / l + 32, quarters 2/3 the high nibbles), qh bits 4–5.
    for (let j = 0; j < 16; j++) {
      const sc = d > 0 ? Math.max(-128, Math.min(127, Math.round(sub[j]! / d))) : 0;
      out[o + 192 + j] = sc & 0xff;
      const step = fr(d * sc);
      for (let t = 0; t < 16; t++) {
        const i = 16 * j + t;
        const v = fr(x[base + i]!);
        const q = (step !== 0 ? Math.max(-32, Math.min(31, Math.round(v / step))) : 0) + 32;
        const h = i >> 7;
        const k = (i >> 5) & 3;
        const l = i & 31;
        const ql = o + 64 * h + l + (k & 1 ? 32 : 0);
        out[ql]! |= k < 2 ? q & 0xf : (q & 0xf) << 4;
        out[o + 128 + 32 * h + l]! |= (q >> 4) << (2 * k);
      }
    }
  }
  return out;
}

/** f32 values of a tensor (torch `shape`, row-major) → its bytes in a GGUF file of the given type. */
export function encodeGgufTensor(type: GgmlType, values: Float32Array, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (values.length !== count)
    throw new Error(`encodeGgufTensor: ${values.length} values for shape [${shape.join(', ')}]`);
  const row = shape[shape.length - 1] ?? 1;
  const { blockSize } = GGML_TYPES[type];
  if (row % blockSize !== 0)
    throw new Error(`${type} needs rows that are a multiple of ${blockSize} values, got a row of ${row}`);
  const asBytes = (v: ArrayBufferView): Uint8Array =>
    new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  switch (type) {
    case 'F32':
      return asBytes(values);
    case 'F16':
      return asBytes(f32ArrayToF16(values));
    case 'BF16':
      return asBytes(f32ArrayToBf16(values));
    case 'Q8_0':
      return quantizeQ8_0(values);
    case 'Q4_0':
      return quantizeQ4_0(values);
    case 'Q2_K':
      return quantizeQ2K(values);
    case 'Q3_K':
      return quantizeQ3K(values);
    case 'Q4_K':
      return quantizeQ4K(values);
    case 'Q5_K':
      return quantizeQ5K(values);
    case 'Q6_K':
      return quantizeQ6K(values);
    default:
      throw new Error(
        `writing ${type} tensors is not supported (supported: F32, F16, BF16, Q8_0, Q4_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K)`,
      );
  }
}
