/**
 * Every kernel tolerance in one table, each with its reason. Tests import from here; nothing else sets tolerances.
 */
import type { Tolerance } from './allclose.ts';

export const TOLERANCES = {
  /**
   * f32 matmul against float64: inputs in [-1, 1], K ≤ 512 products summed with fma in f32.
   * Rounding grows like √K·2⁻²⁴·Σ|a·b|, so a relative bound alone fails on sums that cancel to ~0;
   * atol covers those (Σ|a·b| ≤ K/3 on average, √512·6e-8·170 ≈ 2e-4 worst case, we take 1e-4 + 1e-4·|ref|).
   */
  matmul_f32: { atol: 1e-4, rtol: 1e-4, normRel: 1e-5 },
} satisfies Record<string, Tolerance>;
