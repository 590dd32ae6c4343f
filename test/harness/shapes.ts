/**
 * Random ragged shapes, drawn per seed, that kernel tests run besides their fixed cases. The fixed lists pin the
 * edges (1, one below / above a tile or workgroup); a drawn shape covers what no list thought of. Each size is drawn
 * log-uniformly in [lo, hi] and nudged off multiples of 4 (so rarely aligned to any tile, workgroup or vector width).
 * The draw uses the test's seed (./rng.ts): fixed by default, fresh with TEST_SEED=random, logged either way.
 */
import { Rng, testSeed } from './rng.ts';

/** One size in [lo, hi], log-uniform, never a multiple of 4 when the range allows another value. */
export function raggedSize(rng: Rng, lo: number, hi: number): number {
  if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 1 && hi >= lo))
    throw new RangeError(`raggedSize: need integers 1 <= lo <= hi, got [${lo}, ${hi}]`);
  const v = Math.min(hi, Math.max(lo, Math.round(Math.exp(rng.uniform(Math.log(lo), Math.log(hi + 1))) - 0.5)));
  if (v % 4 !== 0) return v;
  return v + 1 <= hi ? v + 1 : v - 1 >= lo ? v - 1 : v;
}

/**
 * `count` shapes for the test group `name`, each drawn by `draw` from a generator seeded with the group's seed
 * (logged, so a failure names the seed to replay with TEST_SEED). Called while the tests are collected, so the
 * shapes are part of the test names.
 */
export function raggedShapes<T>(name: string, count: number, draw: (rng: Rng) => T): T[] {
  const seed = testSeed(`${name} shapes`);
  console.log(`[seed] ${name} shapes: ${seed} (replay with TEST_SEED=${seed})`);
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => draw(rng));
}
