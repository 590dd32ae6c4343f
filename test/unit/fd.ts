/** Central finite differences in float64 for the reference backward checks. */
import { expect } from 'vitest';

/** ∂f/∂v[i] by central differences with step h. */
export function centralDiff(v: readonly number[], i: number, f: (p: number[]) => number, h = 1e-6): number {
  const p = [...v];
  const q = [...v];
  p[i]! += h;
  q[i]! -= h;
  return (f(p) - f(q)) / (2 * h);
}

/** Checks every component of `grad` against central differences of the scalar function f at v. */
export function expectGradMatchesFd(
  name: string,
  v: readonly number[],
  grad: ArrayLike<number>,
  f: (p: number[]) => number,
  tol = 1e-7,
  h = 1e-6,
): void {
  expect(grad.length, `${name}: gradient length`).toBe(v.length);
  for (let i = 0; i < v.length; i++) {
    const fd = centralDiff(v, i, f, h);
    const err = Math.abs(fd - grad[i]!);
    // NaN-safe: a NaN gradient, finite difference or error fails (NaN <= x is false).
    if (!(err <= tol * Math.max(1, Math.abs(fd))))
      throw new Error(`${name}[${i}]: analytic ${grad[i]} vs finite difference ${fd} (|err| ${err.toExponential(2)})`);
  }
}

/** L = Σ dy ∘ y: the scalar whose gradient a backward reference computes for upstream gradient dy. */
export function dotLoss(y: ArrayLike<number>, dy: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i]! * dy[i]!;
  return s;
}
