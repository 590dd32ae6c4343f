/** Float64 CPU references of the linear-layer matmuls. Row-major; x [N, K], W [M, K], y [N, M]. */

export function matmulForwardRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  bias: ArrayLike<number> | undefined,
  N: number,
  K: number,
  M: number,
): Float64Array {
  const y = new Float64Array(N * M);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      let s = bias ? bias[m]! : 0;
      for (let k = 0; k < K; k++) s += x[n * K + k]! * w[m * K + k]!;
      y[n * M + m] = s;
    }
  }
  return y;
}

/** dx[N, K] = dy[N, M] · W[M, K] */
export function matmulBackwardInputRef(
  dy: ArrayLike<number>,
  w: ArrayLike<number>,
  N: number,
  K: number,
  M: number,
): Float64Array {
  const dx = new Float64Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const g = dy[n * M + m]!;
      for (let k = 0; k < K; k++) dx[n * K + k]! += g * w[m * K + k]!;
    }
  }
  return dx;
}

/** dW[M, K] = dy[N, M]ᵀ · x[N, K] */
export function matmulBackwardWeightRef(
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  N: number,
  K: number,
  M: number,
): Float64Array {
  const dw = new Float64Array(M * K);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const g = dy[n * M + m]!;
      for (let k = 0; k < K; k++) dw[m * K + k]! += g * x[n * K + k]!;
    }
  }
  return dw;
}
