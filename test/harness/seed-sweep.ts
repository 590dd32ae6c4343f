/**
 * The random-seed sweep's shared state (`npm run test:seeds`, scripts/test-seeds.mjs). When TEST_SEED_SWEEP names a
 * report file, the sweep runner (./seed-runner.ts) runs every test several times, each try with a seed it draws
 * in-process; `seededRng` takes that seed, and `expectClose` records how close each comparison came to its
 * tolerance. Every record is one JSON line in the report:
 *   {"kind":"margin","test","check","tolerance","seed","elem","norm"}   elem = max |gpu−ref| / (atol + rtol·|ref|),
 *                                                                     norm = norm-wise error / normRel (1 = the bound)
 *   {"kind":"try","test","seed","seeded","failed","error"}             one per try of a test
 * Outside the sweep every function here is a no-op, so `npm test` is unchanged.
 */
import { appendFileSync } from 'node:fs';
import type { CloseReport, Tolerance } from './allclose.ts';
import { TOLERANCES } from './tolerances.ts';

interface SweepState {
  /** The seed of the try in progress. */
  seed: number;
  /** The full name of the test in progress. */
  test: string;
  /** Whether the try in progress asked for a seeded generator. */
  seeded: boolean;
}

const KEY = '__loraStudioSeedSweep';
const globals = globalThis as unknown as Record<string, SweepState | undefined>;

/** The report file of a sweep in progress, or null outside one. */
export function sweepReport(): string | null {
  const path = process.env.TEST_SEED_SWEEP;
  return path === undefined || path === '' ? null : path;
}

/** The sweep's state (shared through globalThis: the runner and the test files load this module separately). */
export function sweepState(): SweepState | null {
  if (sweepReport() === null) return null;
  return (globals[KEY] ??= { seed: 0, test: '', seeded: false });
}

/** Appends one record to the sweep's report. */
export function sweepRecord(record: Record<string, unknown>): void {
  const path = sweepReport();
  if (path !== null) appendFileSync(path, `${JSON.stringify(record)}\n`);
}

/** The name of a tolerance in the table (by identity), or "(inline)" for one built in a test. */
function toleranceName(tol: Tolerance): string {
  for (const [name, t] of Object.entries(TOLERANCES)) if (t === tol) return name;
  return '(inline)';
}

/** Records a comparison's margins during a sweep. */
export function recordMargin(check: string, report: CloseReport, tol: Tolerance): void {
  const state = sweepState();
  if (state === null) return;
  sweepRecord({
    kind: 'margin',
    test: state.test,
    check,
    tolerance: toleranceName(tol),
    seed: state.seed,
    elem: report.maxRatio,
    norm: tol.normRel === undefined || report.count <= 1 ? null : report.normRel / tol.normRel,
  });
}
