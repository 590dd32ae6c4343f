/**
 * Float64 CPU reference of rotate-half RoPE with partial rotary. x, y [T, NH, D]; positions [T]; invFreq [Drot/2].
 * Pair (i, i + Drot/2) of every head turns by θ = positions[t]·invFreq[i]; dims ≥ Drot pass through.
 */

function rotate(
  x: ArrayLike<number>,
  positions: ArrayLike<number>,
  invFreq: ArrayLike<number>,
  T: number,
  NH: number,
  D: number,
  rotDim: number,
  sign: number,
): Float64Array {
  const half = rotDim / 2;
  const y = Float64Array.from(x as ArrayLike<number>);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const theta = positions[t]! * invFreq[i]!;
      const c = Math.cos(theta);
      const s = sign * Math.sin(theta);
      for (let h = 0; h < NH; h++) {
        const o = (t * NH + h) * D;
        const a = x[o + i]!;
        const b = x[o + i + half]!;
        y[o + i] = a * c - b * s;
        y[o + i + half] = b * c + a * s;
      }
    }
  }
  return y;
}

/** y = rope(x). */
export function ropeForwardRef(
  x: ArrayLike<number>,
  positions: ArrayLike<number>,
  invFreq: ArrayLike<number>,
  T: number,
  NH: number,
  D: number,
  rotDim: number,
): Float64Array {
  return rotate(x, positions, invFreq, T, NH, D, rotDim, 1);
}

/** dx = rope⁻¹(dy): the transpose of the rotation, i.e. the rotation by −θ. */
export function ropeBackwardRef(
  dy: ArrayLike<number>,
  positions: ArrayLike<number>,
  invFreq: ArrayLike<number>,
  T: number,
  NH: number,
  D: number,
  rotDim: number,
): Float64Array {
  return rotate(dy, positions, invFreq, T, NH, D, rotDim, -1);
}
