/**
 * CPU references for weight formats, written independently of src/formats (plain loops, float64 where the
 * format is float64-exact, Math.fround where the reference quantizers round to f32):
 *   - f16 / bf16 decode and an f32 → f16 round-to-nearest-even encoder built from float64 arithmetic;
 *   - dequantization of raw GGUF Q8_0 / Q4_0 bytes and of bitsandbytes NF4 (packed bytes + f32 absmax);
 *   - ggml's quantize_row_q8_0_ref / quantize_row_q4_0_ref (GGUF bytes out) and bitsandbytes' NF4 quantizer.
 * JavaScript computes in float64; fround after each operation gives exactly the f32 result of that operation
 * (for + − × ÷ a double rounding through float64 is harmless: 53 ≥ 2·24 + 2).
 */

const fr = Math.fround;

/** f16 bits → value. */
export function f16ToNumberRef(h: number): number {
  const sign = (h & 0x8000) !== 0 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * Math.pow(2, -24);
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : Number.NaN;
  return sign * (1 + mantissa / 1024) * Math.pow(2, exponent - 15);
}

/** bf16 bits → value: the top half of an f32. */
export function bf16ToNumberRef(h: number): number {
  const sign = (h & 0x8000) !== 0 ? -1 : 1;
  const exponent = (h >> 7) & 0xff;
  const mantissa = h & 0x7f;
  if (exponent === 0) return sign * mantissa * Math.pow(2, -133);
  if (exponent === 255) return mantissa === 0 ? sign * Infinity : Number.NaN;
  return sign * (1 + mantissa / 128) * Math.pow(2, exponent - 127);
}

function roundHalfEven(y: number): number {
  const f = Math.floor(y);
  const diff = y - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** The f16 bits nearest to x (ties to even), as IEEE conversion does; overflow → infinity. */
export function f16BitsRef(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === 0) return sign;
  let e = Math.floor(Math.log2(a));
  if (Math.pow(2, e) > a) e -= 1;
  if (Math.pow(2, e + 1) <= a) e += 1;
  const quantum = e < -14 ? Math.pow(2, -24) : Math.pow(2, e - 10);
  const v = roundHalfEven(a / quantum) * quantum; // a / quantum is exact (a power of two)
  if (v >= 65536) return sign | 0x7c00;
  if (v < Math.pow(2, -14)) return sign | (v / Math.pow(2, -24));
  let ve = Math.floor(Math.log2(v));
  if (Math.pow(2, ve) > v) ve -= 1;
  if (Math.pow(2, ve + 1) <= v) ve += 1;
  return sign | ((ve + 15) << 10) | (v / Math.pow(2, ve - 10) - 1024);
}

export const NF4_CODE_REF: readonly number[] = [
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
  -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
];

/** bitsandbytes' decision points: midpoints of neighbouring codes, as f32 (the C literals of dQuantizeNF4). */
export const NF4_MIDPOINTS_REF: readonly number[] = NF4_CODE_REF.slice(0, 15).map((c, i) =>
  fr((c + NF4_CODE_REF[i + 1]!) / 2),
);

// ---------------------------------------------------------------------------------------------------------------
// Dequantization (float64 results)

/** Raw GGUF Q8_0 bytes (34 per block: f16 d little-endian, 32 int8) → values q·d. */
export function dequantQ8_0Ref(bytes: Uint8Array, values: number): Float64Array {
  const out = new Float64Array(values);
  for (let b = 0; b < values / 32; b++) {
    const at = b * 34;
    const d = f16ToNumberRef(bytes[at]! | (bytes[at + 1]! << 8));
    for (let j = 0; j < 32; j++) {
      const raw = bytes[at + 2 + j]!;
      const q = raw >= 128 ? raw - 256 : raw;
      out[b * 32 + j] = q * d;
    }
  }
  return out;
}

/** Raw GGUF Q4_0 bytes (18 per block: f16 d, 16 bytes; byte j = element j low nibble, element j+16 high) → (q−8)·d. */
export function dequantQ4_0Ref(bytes: Uint8Array, values: number): Float64Array {
  const out = new Float64Array(values);
  for (let b = 0; b < values / 32; b++) {
    const at = b * 18;
    const d = f16ToNumberRef(bytes[at]! | (bytes[at + 1]! << 8));
    for (let j = 0; j < 16; j++) {
      const byte = bytes[at + 2 + j]!;
      out[b * 32 + j] = ((byte & 0x0f) - 8) * d;
      out[b * 32 + j + 16] = ((byte >> 4) - 8) * d;
    }
  }
  return out;
}

/** bitsandbytes NF4: packed bytes (element 2i in the HIGH nibble of byte i), f32 absmax per 64 values → code·absmax. */
export function dequantNf4Ref(packed: Uint8Array, absmax: ArrayLike<number>, values: number): Float64Array {
  const out = new Float64Array(values);
  for (let i = 0; i < values; i++) {
    const byte = packed[i >> 1]!;
    const code = i % 2 === 0 ? byte >> 4 : byte & 0x0f;
    out[i] = NF4_CODE_REF[code]! * absmax[Math.floor(i / 64)]!;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Reference quantizers (inputs are f32 values)

/** ggml quantize_row_q8_0_ref: amax → d = amax/127, id = 1/d, q = roundf(x·id); f16 d. Returns GGUF bytes. */
export function quantizeQ8_0Ref(x: ArrayLike<number>): Uint8Array {
  const blocks = x.length / 32;
  const out = new Uint8Array(blocks * 34);
  for (let b = 0; b < blocks; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]!));
    const d = fr(amax / 127);
    const id = d !== 0 ? fr(1 / d) : 0;
    const h = f16BitsRef(d);
    out[b * 34] = h & 0xff;
    out[b * 34 + 1] = h >> 8;
    for (let j = 0; j < 32; j++) {
      const v = fr(x[b * 32 + j]! * id);
      const q = Math.sign(v) * Math.floor(Math.abs(v) + 0.5); // C roundf: halves away from zero
      out[b * 34 + 2 + j] = q & 0xff;
    }
  }
  return out;
}

/**
 * ggml quantize_row_q4_0_ref: max = the value of largest magnitude (the first, on ties), d = max / −8,
 * id = 1/d, q = min(15, (int8)(x·id + 8.5)); f16 d. Returns GGUF bytes.
 */
export function quantizeQ4_0Ref(x: ArrayLike<number>): Uint8Array {
  const blocks = x.length / 32;
  const out = new Uint8Array(blocks * 18);
  for (let b = 0; b < blocks; b++) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = x[b * 32 + j]!;
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fr(max / -8);
    const id = d ? fr(1 / d) : 0;
    const h = f16BitsRef(d);
    out[b * 18] = h & 0xff;
    out[b * 18 + 1] = h >> 8;
    for (let j = 0; j < 16; j++) {
      const x0 = fr(x[b * 32 + j]! * id);
      const x1 = fr(x[b * 32 + 16 + j]! * id);
      const q0 = Math.min(15, Math.trunc(fr(x0 + 8.5)));
      const q1 = Math.min(15, Math.trunc(fr(x1 + 8.5)));
      out[b * 18 + 2 + j] = q0 | (q1 << 4);
    }
  }
  return out;
}

/**
 * bitsandbytes NF4 (blocksize 64): absmax per block, x·(1/absmax) in f32, code = number of midpoints strictly below
 * (the `x > t` tree of dQuantizeNF4); an all-zero block gives code 0 (0·inf is NaN, which no `x > t` accepts).
 */
export function quantizeNf4Ref(x: ArrayLike<number>): { packed: Uint8Array; absmax: Float32Array } {
  const blocks = x.length / 64;
  const packed = new Uint8Array(x.length / 2);
  const absmax = new Float32Array(blocks);
  for (let b = 0; b < blocks; b++) {
    let amax = 0;
    for (let j = 0; j < 64; j++) amax = Math.max(amax, Math.abs(x[b * 64 + j]!));
    absmax[b] = amax;
    const inv = amax > 0 ? fr(1 / amax) : Number.NaN;
    for (let j = 0; j < 64; j++) {
      const v = fr(x[b * 64 + j]! * inv);
      let code = 0;
      for (const t of NF4_MIDPOINTS_REF) if (v > t) code++;
      const i = b * 64 + j;
      packed[i >> 1]! |= i % 2 === 0 ? code << 4 : code;
    }
  }
  return { packed, absmax };
}
