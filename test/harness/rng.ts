/**
 * Seeded random numbers for tests. The seed comes from TEST_SEED when set (to replay a failure),
 * otherwise it is fresh each run; it is always logged so a failing run can be reproduced.
 */
import { SeededRng } from '../../src/train/rng.ts';

/** The app's seeded generator (mulberry32) with the helpers tests need. */
export class Rng extends SeededRng {
  constructor(readonly seed: number) {
    super(seed);
  }

  override uniform(lo = -1, hi = 1): number {
    return super.uniform(lo, hi);
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = Math.max(this.next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  int(lo: number, hiExclusive: number): number {
    return lo + Math.floor(this.next() * (hiExclusive - lo));
  }

  f32(n: number, lo = -1, hi = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.uniform(lo, hi);
    return out;
  }
}

/** A generator for one test; logs `[seed] <name>: <seed>` so a failure can be replayed with TEST_SEED. */
export function seededRng(name: string): Rng {
  const fromEnv = process.env.TEST_SEED;
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  console.log(`[seed] ${name}: ${seed} (replay with TEST_SEED=${seed})`);
  return new Rng(seed);
}
