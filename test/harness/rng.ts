/**
 * Seeded random numbers for tests. By default each test's seed is fixed (a hash of the test's name), so `npm test`
 * passes or fails for the code, not the dice. TEST_SEED=<n> replays one seed in every test; TEST_SEED=random draws
 * a fresh seed per test. `npm run test:seeds` (scripts/test-seeds.mjs) is the many-seed sweep: each seeded test runs
 * again and again, with a seed drawn in-process per try (./seed-sweep.ts). The seed is always logged.
 */
import { SeededRng } from '../../src/util/rng.ts';
import { sweepState } from './seed-sweep.ts';

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

/** FNV-1a of the name: the fixed default seed of a test. */
function nameSeed(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The seed a test named `name` runs with (see the file comment). */
export function testSeed(name: string): number {
  const sweep = sweepState();
  if (sweep !== null) {
    sweep.seeded = true;
    return sweep.seed;
  }
  const fromEnv = process.env.TEST_SEED;
  if (fromEnv === undefined || fromEnv === '') return nameSeed(name);
  if (fromEnv === 'random') return (Math.random() * 2 ** 32) >>> 0;
  const n = Number(fromEnv);
  if (!Number.isInteger(n)) throw new Error(`TEST_SEED must be an integer or "random", got "${fromEnv}"`);
  return n >>> 0;
}

/** A generator for one test; logs `[seed] <name>: <seed>` so a failure can be replayed with TEST_SEED. */
export function seededRng(name: string): Rng {
  const seed = testSeed(name);
  if (sweepState() === null) console.log(`[seed] ${name}: ${seed} (replay with TEST_SEED=${seed})`);
  return new Rng(seed);
}
