/** The finite-difference check itself: it passes a right gradient and fails a wrong one, a NaN and a non-finite f. */
import { describe, expect, it } from 'vitest';
import { expectGradMatchesFd } from './fd.ts';

const f = (p: number[]) => p[0]! * p[0]! + 3 * p[1]!; // ∇f = [2x, 3]

describe('expectGradMatchesFd', () => {
  it('passes the analytic gradient', () => {
    expect(() => expectGradMatchesFd('f', [0.5, -2], [1, 3], f)).not.toThrow();
  });

  it('fails a wrong gradient, a NaN in the gradient, and a function that gives NaN', () => {
    expect(() => expectGradMatchesFd('f', [0.5, -2], [1, 3.001], f)).toThrow(/f\[1\]/);
    expect(() => expectGradMatchesFd('f', [0.5, -2], [Number.NaN, 3], f)).toThrow(/f\[0\]: analytic NaN/);
    expect(() => expectGradMatchesFd('g', [0.5], [1], () => Number.NaN)).toThrow(/g\[0\]/);
    expect(() => expectGradMatchesFd('f', [0.5, -2], [1], f)).toThrow(/gradient length/);
  });
});
