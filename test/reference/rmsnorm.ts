/** Float64 CPU reference of RMSNorm over rows: x, y [N, C], w [C]; g = w, or 1 + w for gemma. */

export function rmsnormForwardRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  N: number,
  C: number,
  eps: number,
  gemma = false,
): { y: Float64Array; rstd: Float64Array } {
  const y = new Float64Array(N * C);
  const rstd = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[n * C + c]! * x[n * C + c]!;
    const r = 1 / Math.sqrt(ss / C + eps);
    rstd[n] = r;
    for (let c = 0; c < C; c++) y[n * C + c] = x[n * C + c]! * r * (gemma ? 1 + w[c]! : w[c]!);
  }
  return { y, rstd };
}

/** dx [N, C] and dw [C] of L = Σ dy ∘ y. */
export function rmsnormBackwardRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  dy: ArrayLike<number>,
  N: number,
  C: number,
  eps: number,
  gemma = false,
): { dx: Float64Array; dw: Float64Array } {
  const dx = new Float64Array(N * C);
  const dw = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[n * C + c]! * x[n * C + c]!;
    const r = 1 / Math.sqrt(ss / C + eps);
    // y_c = x_c r g_c;  ∂r/∂x_j = −r³ x_j / C
    let dot = 0;
    for (let c = 0; c < C; c++) dot += dy[n * C + c]! * (gemma ? 1 + w[c]! : w[c]!) * x[n * C + c]!;
    for (let c = 0; c < C; c++) {
      const g = gemma ? 1 + w[c]! : w[c]!;
      dx[n * C + c] = r * g * dy[n * C + c]! - (x[n * C + c]! * r * r * r * dot) / C;
      dw[c]! += dy[n * C + c]! * x[n * C + c]! * r;
    }
  }
  return { dx, dw };
}
