/**
 * Float64 CPU reference of a LoRA adapter: y_add = s · (xd · Aᵀ) · Bᵀ with xd = dropout(x),
 * x [N, K], A [R, K], B [M, R]; and its gradients for a given dy [N, M].
 * The dropout mask is the shader's: keep(n, k) iff pcg4d(k, n, moduleId, seed).x ≥ round(p · 2³²), written here
 * independently with 32-bit integer arithmetic.
 */

export interface LoraDropoutRef {
  p: number;
  seed: number;
  moduleId: number;
}

/** pcg4d (Jarzynski & Olano 2020) on four u32 lanes; returns lane x. */
export function pcg4dX(a: number, b: number, c: number, d: number): number {
  let x = (Math.imul(a >>> 0, 1664525) + 1013904223) >>> 0;
  let y = (Math.imul(b >>> 0, 1664525) + 1013904223) >>> 0;
  let z = (Math.imul(c >>> 0, 1664525) + 1013904223) >>> 0;
  let w = (Math.imul(d >>> 0, 1664525) + 1013904223) >>> 0;
  x = (x + Math.imul(y, w)) >>> 0;
  y = (y + Math.imul(z, x)) >>> 0;
  z = (z + Math.imul(x, y)) >>> 0;
  w = (w + Math.imul(y, z)) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  y = (y ^ (y >>> 16)) >>> 0;
  z = (z ^ (z >>> 16)) >>> 0;
  w = (w ^ (w >>> 16)) >>> 0;
  x = (x + Math.imul(y, w)) >>> 0;
  return x;
}

/** Multiplier of x[n, k]: 1/(1−p) if kept, 0 if dropped; 1 without dropout. */
export function dropoutMultiplierRef(d: LoraDropoutRef | undefined, n: number, k: number): number {
  if (!d || d.p === 0) return 1;
  const threshold = Math.min(0xffffffff, Math.round(d.p * 2 ** 32));
  return pcg4dX(k, n, d.moduleId, d.seed) >= threshold ? 1 / (1 - d.p) : 0;
}

export function dropoutRef(x: ArrayLike<number>, N: number, K: number, d: LoraDropoutRef | undefined): Float64Array {
  const xd = new Float64Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) xd[n * K + k] = x[n * K + k]! * dropoutMultiplierRef(d, n, k);
  return xd;
}

export function loraForwardRef(
  x: ArrayLike<number>,
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  N: number,
  K: number,
  M: number,
  R: number,
  s: number,
  d?: LoraDropoutRef,
): { u: Float64Array; yAdd: Float64Array } {
  const xd = dropoutRef(x, N, K, d);
  const u = new Float64Array(N * R);
  for (let n = 0; n < N; n++) {
    for (let r = 0; r < R; r++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += xd[n * K + k]! * A[r * K + k]!;
      u[n * R + r] = acc;
    }
  }
  const yAdd = new Float64Array(N * M);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      let acc = 0;
      for (let r = 0; r < R; r++) acc += u[n * R + r]! * B[m * R + r]!;
      yAdd[n * M + m] = s * acc;
    }
  }
  return { u, yAdd };
}

/** Gradients of L = Σ dy ∘ y_add: dA [R, K], dB [M, R], du [N, R], dx [N, K] (the adapter's part only). */
export function loraBackwardRef(
  x: ArrayLike<number>,
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  dy: ArrayLike<number>,
  N: number,
  K: number,
  M: number,
  R: number,
  s: number,
  d?: LoraDropoutRef,
): { dA: Float64Array; dB: Float64Array; du: Float64Array; dx: Float64Array } {
  const { u } = loraForwardRef(x, A, B, N, K, M, R, s, d);
  const xd = dropoutRef(x, N, K, d);
  const dB = new Float64Array(M * R);
  const du = new Float64Array(N * R);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const g = s * dy[n * M + m]!;
      for (let r = 0; r < R; r++) {
        dB[m * R + r]! += g * u[n * R + r]!;
        du[n * R + r]! += g * B[m * R + r]!;
      }
    }
  }
  const dA = new Float64Array(R * K);
  const dx = new Float64Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let r = 0; r < R; r++) {
      const g = du[n * R + r]!;
      for (let k = 0; k < K; k++) {
        dA[r * K + k]! += g * xd[n * K + k]!;
        dx[n * K + k]! += g * A[r * K + k]! * dropoutMultiplierRef(d, n, k);
      }
    }
  }
  return { dA, dB, du, dx };
}
