/**
 * RoPE inverse frequencies on the host, in float64, and their GPU form (shaders/rope.wgsl).
 *
 *   default  f_i = θ^(−2i/Drot), i < Drot/2                      (HF `rope_theta`, rotary dim = Drot)
 *   linear   f_i / factor                                           (same as dividing the positions by factor)
 *   llama3   per wavelength λ = 2π/f (FORMATS.md): λ < ctx/high → f; λ > ctx/low → f/factor;
 *            otherwise s = (ctx/λ − low)/(high − low), f' = (1 − s)·f/factor + s·f     (ctx = original context)
 *
 * The GPU gets each frequency as a 64-bit fixed-point fraction of a full turn, f/2π mod 1, split into two u32
 * words (hi, lo). The shader multiplies it by the integer position in exact u32 arithmetic, so the angle keeps
 * ~1e-7 rad accuracy at any position instead of the ulp(pos·f) ≈ 4e-3 rad that f32 pos·inv_freq has at 1e5.
 */

export type RopeScaling =
  | { type: 'linear'; factor: number }
  | {
      type: 'llama3';
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositionEmbeddings: number;
    };

export interface RopeConfig {
  /** rope_theta (base), e.g. 10000, 500000, 1e6. */
  theta: number;
  /** Rotary dims per head (even, ≤ head dim): head_dim, or head_dim·partial_rotary_factor. */
  rotDim: number;
  scaling?: RopeScaling;
}

/** Inverse frequencies f_i (radians per position), i < rotDim/2, in float64. */
export function ropeInvFreq(config: RopeConfig): Float64Array {
  const { theta, rotDim, scaling } = config;
  if (!Number.isInteger(rotDim) || rotDim < 2 || rotDim % 2 !== 0)
    throw new RangeError(`RoPE rotary dim must be a positive even integer, got ${rotDim}`);
  if (!(theta > 1)) throw new RangeError(`RoPE theta must be > 1, got ${theta}`);
  const half = rotDim / 2;
  const out = new Float64Array(half);
  for (let i = 0; i < half; i++) out[i] = theta ** (-(2 * i) / rotDim);
  if (!scaling) return out;
  if (!(scaling.factor > 0)) throw new RangeError(`RoPE scaling factor must be > 0, got ${scaling.factor}`);
  if (scaling.type === 'linear') return out.map((f) => f / scaling.factor);
  const { factor, lowFreqFactor: low, highFreqFactor: high, originalMaxPositionEmbeddings: ctx } = scaling;
  if (!(high > low) || !(low > 0) || !(ctx > 0))
    throw new RangeError(
      `llama3 RoPE scaling needs high_freq_factor > low_freq_factor > 0 and a context, got ${high}, ${low}, ${ctx}`,
    );
  const lowWavelen = ctx / low;
  const highWavelen = ctx / high;
  return out.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / factor;
    const s = (ctx / wavelen - low) / (high - low);
    return ((1 - s) * f) / factor + s * f;
  });
}

const TWO_64 = 2n ** 64n;

/**
 * The shader's frequency table: for each f, (hi, lo) with f/2π mod 1 ≈ (hi·2³² + lo)/2⁶⁴, as u32 pairs [n, 2].
 * Rounding to 2⁻⁶⁴ turn is far below float64's own 2⁻⁵³ relative rounding of f/2π.
 */
export function ropeTurnTable(invFreq: ArrayLike<number>): Uint32Array {
  const table = new Uint32Array(2 * invFreq.length);
  for (let i = 0; i < invFreq.length; i++) {
    const f = invFreq[i]!;
    if (!(f >= 0) || !Number.isFinite(f)) throw new RangeError(`RoPE frequency #${i} must be finite and ≥ 0, got ${f}`);
    const turns = f / (2 * Math.PI);
    const frac = turns - Math.floor(turns);
    // frac·2⁶⁴ is exact in float64 (a power-of-two scale); it is an integer above 2⁵³, rounded below.
    let fixed = BigInt(Math.round(frac * 2 ** 64));
    if (fixed >= TWO_64) fixed -= TWO_64;
    table[2 * i] = Number(fixed >> 32n);
    table[2 * i + 1] = Number(fixed & 0xffffffffn);
  }
  return table;
}

/** The frequency (radians per position, in [0, 2π)) that a turn-table entry stands for; for tests and debugging. */
export function turnTableFrequency(table: Uint32Array, i: number): number {
  return (2 * Math.PI * (table[2 * i]! * 2 ** 32 + table[2 * i + 1]!)) / 2 ** 64;
}
