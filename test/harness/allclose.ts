/**
 * Element-wise comparison of a GPU result with a float64 reference:
 *   |gpu - ref| <= atol + rtol·|ref|  for every element, and any NaN (or Inf where ref is finite) fails.
 * Reports the failure count, max abs / rel error and the worst index, plus the norm-wise relative error
 * ‖gpu - ref‖₂ / ‖ref‖₂ used for reductions (bounded only for outputs of two or more elements).
 */
import { recordMargin } from './seed-sweep.ts';

export interface Tolerance {
  atol: number;
  rtol: number;
  /** Optional bound on the norm-wise relative error (for reductions). */
  normRel?: number;
}

export interface CloseReport {
  ok: boolean;
  count: number;
  failures: number;
  nonFinite: number;
  maxAbs: number;
  maxRel: number;
  /** max over elements of |gpu − ref| / (atol + rtol·|ref|): ≤ 1 passes (the margin the seed sweep reports). */
  maxRatio: number;
  worstIndex: number;
  worstGot: number;
  worstWant: number;
  normRel: number;
}

export function compareClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance): CloseReport {
  if (got.length !== want.length) throw new Error(`length mismatch: got ${got.length}, want ${want.length}`);
  let failures = 0;
  let nonFinite = 0;
  let maxAbs = 0;
  let maxRel = 0;
  let maxRatio = 0;
  let worstIndex = -1;
  let worstExcess = -Infinity;
  let diff2 = 0;
  let ref2 = 0;
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    const abs = Math.abs(g - w);
    const bad = !Number.isFinite(g) && Number.isFinite(w);
    if (bad || Number.isNaN(g)) nonFinite++;
    const excess = Number.isNaN(abs) || bad ? Infinity : abs - (tol.atol + tol.rtol * Math.abs(w));
    if (excess > 0) failures++;
    const bound = tol.atol + tol.rtol * Math.abs(w);
    const ratio = Number.isNaN(abs) || bad ? Infinity : bound > 0 ? abs / bound : abs === 0 ? 0 : Infinity;
    if (ratio > maxRatio) maxRatio = ratio;
    if (excess > worstExcess) {
      worstExcess = excess;
      worstIndex = i;
    }
    if (Number.isFinite(abs)) {
      maxAbs = Math.max(maxAbs, abs);
      if (w !== 0) maxRel = Math.max(maxRel, abs / Math.abs(w));
      diff2 += abs * abs;
    }
    ref2 += w * w;
  }
  const normRel = nonFinite > 0 ? Infinity : ref2 > 0 ? Math.sqrt(diff2 / ref2) : Math.sqrt(diff2);
  // For one element the norm-wise error is just that element's relative error, which the element-wise bound
  // (atol + rtol·|ref|) already judges; applying normRel too would demand rtol = normRel of a single value.
  const normOk = tol.normRel === undefined || got.length <= 1 || normRel <= tol.normRel;
  return {
    ok: failures === 0 && nonFinite === 0 && normOk,
    count: got.length,
    failures,
    nonFinite,
    maxAbs,
    maxRel,
    maxRatio,
    worstIndex,
    worstGot: worstIndex >= 0 ? got[worstIndex]! : NaN,
    worstWant: worstIndex >= 0 ? want[worstIndex]! : NaN,
    normRel,
  };
}

export function formatReport(name: string, r: CloseReport, tol: Tolerance): string {
  return (
    `${name}: ${r.ok ? 'ok' : 'MISMATCH'} — ${r.failures}/${r.count} elements outside atol=${tol.atol} rtol=${tol.rtol}, ` +
    `${r.nonFinite} non-finite, max abs ${r.maxAbs.toExponential(3)}, max rel ${r.maxRel.toExponential(3)}, ` +
    `norm rel ${r.normRel.toExponential(3)}${tol.normRel !== undefined ? ` (limit ${tol.normRel})` : ''}, ` +
    `worst [${r.worstIndex}] got ${r.worstGot} want ${r.worstWant}`
  );
}

/** Throws with the full report when the comparison fails. */
export function expectClose(
  name: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: Tolerance,
): CloseReport {
  const report = compareClose(got, want, tol);
  recordMargin(name, report, tol);
  if (!report.ok) throw new Error(formatReport(name, report, tol));
  return report;
}
