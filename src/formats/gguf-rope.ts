/**
 * Llama 3 RoPE scaling in GGUF: llama.cpp's converter does not store the `rope_scaling` parameters; it stores one
 * divisor per rotary frequency in the tensor `rope_freqs.weight` (f32, head_dim/2 values):
 *   λ = 2π/f;  λ < ctx/high → 1;  λ > ctx/low → factor;  else 1 / ((1−s)/factor + s), s = (ctx/λ − low)/(high − low).
 * `fitLlama3RopeScaling` recovers parameters that reproduce those divisors at every frequency the model uses, so the
 * HF-style config parser sees an ordinary `rope_scaling: {rope_type: "llama3", ...}`. With two or more frequencies in
 * the smooth band the original parameters come back exactly (given the original context); otherwise an equivalent
 * set (same divisors at every used frequency) is returned.
 */

export interface Llama3RopeScaling {
  rope_type: 'llama3';
  factor: number;
  low_freq_factor: number;
  high_freq_factor: number;
  original_max_position_embeddings: number;
}

const fr = Math.fround;

/** Rotary frequencies as the converter computes them (f32): 1 / theta^(2i/dim). */
export function ropeFrequencies(headDim: number, theta: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < headDim; i += 2) out.push(fr(1 / fr(theta ** fr(i / headDim))));
  return out;
}

/** The per-frequency divisors llama.cpp's converter writes to `rope_freqs.weight`. */
export function llama3RopeFactors(
  headDim: number,
  theta: number,
  s: Omit<Llama3RopeScaling, 'rope_type'>,
): Float32Array {
  const lowWavelen = s.original_max_position_embeddings / s.low_freq_factor;
  const highWavelen = s.original_max_position_embeddings / s.high_freq_factor;
  return Float32Array.from(ropeFrequencies(headDim, theta), (f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return 1;
    if (wavelen > lowWavelen) return s.factor;
    const smooth =
      (s.original_max_position_embeddings / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
    return 1 / ((1 - smooth) / s.factor + smooth);
  });
}

function close(a: number, b: number, rel: number): boolean {
  return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b));
}

/**
 * Parameters reproducing `factors` (from `rope_freqs.weight`), or null when all divisors are 1 (no scaling) or no
 * llama3 parameters reproduce them (then the file uses some other scheme).
 */
export function fitLlama3RopeScaling(
  factors: ArrayLike<number>,
  headDim: number,
  theta: number,
  originalContext = 8192,
): Llama3RopeScaling | null {
  const freqs = ropeFrequencies(headDim, theta);
  if (factors.length !== freqs.length)
    throw new Error(`rope_freqs has ${factors.length} values, expected head_dim/2 = ${freqs.length}`);
  const r = Array.from(factors);
  const factor = Math.max(...r);
  if (!(factor > 1) || r.some((v) => !(v >= 1 - 1e-6))) return null;
  if (r.every((v) => close(v, 1, 1e-6))) return null;
  // u = 1/λ = f/2π: the smooth weight s is linear in u.
  const u = freqs.map((f) => f / (2 * Math.PI));
  const highBand: number[] = [];
  const lowBand: number[] = [];
  const smooth: { u: number; s: number }[] = [];
  r.forEach((v, i) => {
    if (close(v, 1, 1e-6)) highBand.push(u[i]!);
    else if (close(v, factor, 1e-6)) lowBand.push(u[i]!);
    else smooth.push({ u: u[i]!, s: (1 / v - 1 / factor) / (1 - 1 / factor) });
  });
  let uLow: number;
  let uHigh: number;
  if (smooth.length >= 2) {
    const n = smooth.length;
    const mu = smooth.reduce((a, p) => a + p.u, 0) / n;
    const ms = smooth.reduce((a, p) => a + p.s, 0) / n;
    const slope =
      smooth.reduce((a, p) => a + (p.u - mu) * (p.s - ms), 0) / smooth.reduce((a, p) => a + (p.u - mu) ** 2, 0);
    const intercept = ms - slope * mu;
    uLow = -intercept / slope;
    uHigh = (1 - intercept) / slope;
  } else {
    uLow = lowBand.length ? Math.max(...lowBand) : Math.min(...u) / 2;
    if (smooth.length === 1) uHigh = uLow + (smooth[0]!.u - uLow) / smooth[0]!.s;
    else uHigh = highBand.length ? Math.min(...highBand) : Math.max(...u) * 2;
  }
  if (!(uLow > 0) || !(uHigh > uLow)) return null;
  const candidate = (digits: number | null): Llama3RopeScaling => {
    const tidy = (x: number): number => (digits === null ? x : Number(x.toPrecision(digits)));
    return {
      rope_type: 'llama3',
      factor: tidy(factor),
      low_freq_factor: tidy(originalContext * uLow),
      high_freq_factor: tidy(originalContext * uHigh),
      original_max_position_embeddings: originalContext,
    };
  };
  // Prefer round numbers (factor 32, low 1, high 4) when they reproduce the divisors as well as the raw fit.
  for (const fitted of [candidate(6), candidate(null)]) {
    const check = llama3RopeFactors(headDim, theta, fitted);
    if (r.every((v, i) => close(check[i]!, v, 1e-4))) return fitted;
  }
  return null;
}
