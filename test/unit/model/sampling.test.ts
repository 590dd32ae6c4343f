import { describe, expect, it } from 'vitest';
import {
  CounterRng,
  TokenSampler,
  applyRepetitionPenalty,
  argmax,
  drawIndex,
  minPFilter,
  sampleToken,
  softcapLogits,
  softmax,
  topKFilter,
  topPFilter,
} from '../../../src/model/sampling.ts';
import { SeededRng } from '../../../src/util/rng.ts';
import { seededRng } from '../../harness/rng.ts';

/** Ids that survive a filter (logit not −Infinity). */
function survivors(x: Float64Array): number[] {
  return [...x.keys()].filter((i) => x[i] !== -Infinity);
}

/** Logits whose softmax is exactly-ish the given probabilities. */
function logitsOf(p: number[]): Float64Array {
  return Float64Array.from(p, (x) => Math.log(x));
}

/** Sample counts of `draws` calls; checks every frequency against its binomial mean within 5.5σ. */
function expectFrequencies(counts: number[], prob: number[], draws: number): void {
  counts.forEach((c, i) => {
    const mean = prob[i]! * draws;
    const sd = Math.sqrt(draws * prob[i]! * (1 - prob[i]!));
    if (prob[i] === 0) expect(c, `token ${i} must never be drawn`).toBe(0);
    else
      expect(
        Math.abs(c - mean),
        `token ${i}: ${c} draws, expected ${mean.toFixed(1)} ± ${sd.toFixed(1)}`,
      ).toBeLessThanOrEqual(5.5 * sd);
  });
}

describe('sampling: deterministic pieces', () => {
  it('argmax: ties go to the lowest id, NaN never wins', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
    expect(argmax([5, 5, 5])).toBe(0);
    expect(argmax([Number.NaN, -1, 7, 7, Number.NaN])).toBe(2);
    expect(argmax(new Float32Array([-Infinity, -3, -2]))).toBe(2);
  });

  it('greedy sampling is the argmax after soft-cap and penalty, and draws no random number', () => {
    const rng = new CounterRng(1);
    const logits = new Float32Array([2, 6, 6, -1]);
    expect(sampleToken(logits, { temperature: 0 }, rng)).toBe(1);
    // Penalty 4 on id 1: 6 → 1.5, so id 2 wins.
    expect(sampleToken(logits, { temperature: 0, repetitionPenalty: 4 }, rng, [1, 1])).toBe(2);
    expect(rng.counter).toBe(0);
    expect(Array.from(logits)).toEqual([2, 6, 6, -1]); // input untouched
  });

  it('final soft-cap c·tanh(l/c)', () => {
    const x = new Float64Array([0, 1, -30, 300, 1e-9]);
    softcapLogits(x, 30);
    expect(x[0]).toBe(0);
    expect(x[1]).toBeCloseTo(30 * Math.tanh(1 / 30), 15);
    expect(x[2]).toBeCloseTo(-30 * Math.tanh(1), 13);
    expect(x[3]).toBeLessThan(30);
    expect(x[3]).toBeGreaterThan(29.999);
    expect(x[4]).toBeCloseTo(1e-9, 20);
    expect(() => softcapLogits(x, 0)).toThrow(RangeError);
  });

  it('repetition penalty (HF): positive logits divided, others multiplied, once per distinct seen id', () => {
    const x = new Float32Array([2, -2, 0, 3, 1.5]);
    applyRepetitionPenalty(x, [0, 1, 2, 0, 0, 4, 99], 2);
    expect(Array.from(x)).toEqual([1, -4, 0, 3, 0.75]);
  });

  it('top-k keeps the k largest, and every token tied with the k-th', () => {
    let x = new Float64Array([1, 5, 3, 5, 2]);
    topKFilter(x, 2);
    expect(survivors(x)).toEqual([1, 3]);
    x = new Float64Array([1, 5, 3, 5, 2]);
    topKFilter(x, 3);
    expect(survivors(x)).toEqual([1, 2, 3]);
    x = new Float64Array([4, 1, 4, 4]);
    topKFilter(x, 1);
    expect(survivors(x)).toEqual([0, 2, 3]);
    x = new Float64Array([1, 2]);
    topKFilter(x, 5);
    expect(survivors(x)).toEqual([0, 1]);
  });

  it('top-p keeps the smallest prefix by probability whose mass reaches p, crossing token included', () => {
    // Probabilities by id: 0.3, 0.05, 0.5, 0.15 → order 2, 0, 3, 1.
    const p = [0.3, 0.05, 0.5, 0.15];
    const cases: [number, number[]][] = [
      [0.4, [2]],
      [0.6, [0, 2]],
      [0.79, [0, 2]],
      [0.81, [0, 2, 3]],
      [0.94, [0, 2, 3]],
      [0.96, [0, 1, 2, 3]],
      [1, [0, 1, 2, 3]],
      [1e-9, [2]],
    ];
    for (const [top, want] of cases) {
      const x = logitsOf(p);
      topPFilter(x, top);
      expect(survivors(x), `top-p ${top}`).toEqual(want);
    }
    // Equal probabilities: lower ids first.
    const x = logitsOf([0.25, 0.25, 0.25, 0.25]);
    topPFilter(x, 0.3);
    expect(survivors(x)).toEqual([0, 1]);
    // Tokens already removed stay removed and carry no mass.
    const y = new Float64Array([0, -Infinity, 0, 0]);
    topPFilter(y, 0.5);
    expect(survivors(y)).toEqual([0, 2]);
  });

  it('min-p removes tokens below minP × the top probability', () => {
    const x = logitsOf([0.5, 0.3, 0.15, 0.05]);
    minPFilter(x, 0.2);
    expect(survivors(x)).toEqual([0, 1, 2]);
    const y = logitsOf([0.5, 0.3, 0.15, 0.05]);
    minPFilter(y, 0.7);
    expect(survivors(y)).toEqual([0]);
  });

  it('drawIndex walks the cumulative distribution in id order, skipping zeros', () => {
    const p = [0.2, 0, 0.5, 0.3];
    const at = (u: number) => drawIndex(p, u);
    expect([0, 0.19, 0.2, 0.69, 0.71, 0.999999].map(at)).toEqual([0, 0, 2, 2, 3, 3]);
    expect(() => drawIndex([0, 0], 0.5)).toThrow(RangeError);
  });

  it('counter-based RNG: reproducible, resumable from (seed, counter), uniform', () => {
    const seed = seededRng('sampling rng').int(0, 2 ** 32);
    const a = new CounterRng(seed);
    const first = Array.from({ length: 10 }, () => a.next());
    const b = new CounterRng(seed);
    expect(Array.from({ length: 10 }, () => b.next())).toEqual(first);
    const saved = a.save();
    const more = Array.from({ length: 5 }, () => a.next());
    const c = CounterRng.restore(saved);
    expect(Array.from({ length: 5 }, () => c.next())).toEqual(more);
    expect(new CounterRng((seed + 1) >>> 0).next()).not.toBe(first[0]);
    const app = new SeededRng(seed); // the same stream as the app's one generator
    expect(Array.from({ length: 10 }, () => app.next())).toEqual(first);
    expect(new CounterRng(seed, 7).next()).toBe(first[7]);
    const N = 100000;
    let sum = 0;
    const bins = new Array(10).fill(0);
    for (let i = 0; i < N; i++) {
      const u = a.next();
      expect(u >= 0 && u < 1).toBe(true);
      sum += u;
      bins[Math.floor(u * 10)]++;
    }
    expect(Math.abs(sum / N - 0.5)).toBeLessThan(5.5 * Math.sqrt(1 / 12 / N));
    expectFrequencies(bins, new Array(10).fill(0.1), N);
  });
});

describe('sampling: distributions', () => {
  it('temperature + top-k: only the top-k ids are drawn, at softmax(l / T) frequencies', () => {
    const rng = new CounterRng(seededRng('sampling top-k').int(0, 2 ** 32));
    const logits = new Float32Array([1, 2.5, 0.2, 3, -1, 2.5]);
    const T = 0.7;
    const draws = 20000;
    const counts = new Array(6).fill(0);
    for (let i = 0; i < draws; i++) counts[sampleToken(logits, { temperature: T, topK: 3 }, rng)]++;
    // Top 3: ids 3, 1, 5 (1 and 5 tied).
    const kept = Float64Array.from(logits, (l, i) => ([1, 3, 5].includes(i) ? l / T : -Infinity));
    expectFrequencies(counts, Array.from(softmax(kept)), draws);
  });

  it('top-p + min-p + repetition penalty + soft-cap, end to end', () => {
    const rng = new CounterRng(seededRng('sampling top-p').int(0, 2 ** 32));
    // After soft-cap 10 and penalty 1.5 on id 0 the probabilities are computed by hand below.
    const logits = new Float32Array([4, 3, 2.5, 1, 0, -3]);
    const opts = { temperature: 1, topP: 0.9, minP: 0.05, repetitionPenalty: 1.5, finalSoftcap: 10 };
    const x = Float64Array.from(logits, (l) => 10 * Math.tanh(l / 10));
    x[0] = x[0]! / 1.5;
    const order = [...x.keys()].sort((a, b) => x[b]! - x[a]!);
    const p = softmax(x);
    let mass = 0;
    const keep = new Set<number>();
    for (const id of order) {
      if (mass >= 0.9) break;
      keep.add(id);
      mass += p[id]!;
    }
    const top = Math.max(...[...keep].map((id) => p[id]!));
    const kept = Float64Array.from(x, (l, i) => (keep.has(i) && p[i]! >= 0.05 * top ? l : -Infinity));
    const want = Array.from(softmax(kept));
    expect(want.filter((q) => q > 0).length).toBeGreaterThanOrEqual(3); // the filters leave a real choice
    const draws = 20000;
    const counts = new Array(6).fill(0);
    for (let i = 0; i < draws; i++) counts[sampleToken(logits, opts, rng, [0])]++;
    expectFrequencies(counts, want, draws);
  });
});

describe('TokenSampler', () => {
  const logitsFor = (favourite: number) => Float32Array.from({ length: 8 }, (_, i) => (i === favourite ? 5 : 0));

  it('stops on any of several eos ids (kept as the last token) and at maxNewTokens', () => {
    const s = new TokenSampler({ seed: 3, temperature: 0, eosTokenIds: [6, 7], maxNewTokens: 10 }, [1, 2]);
    expect(s.next(logitsFor(3))).toEqual({ token: 3, stop: null });
    expect(s.next(logitsFor(7))).toEqual({ token: 7, stop: 'eos' });
    expect(() => s.next(logitsFor(3))).toThrow(/stopped/);
    const t = new TokenSampler({ seed: 3, temperature: 0, eosTokenIds: [6, 7], maxNewTokens: 2 }, []);
    t.next(logitsFor(1));
    expect(t.next(logitsFor(6))).toEqual({ token: 6, stop: 'eos' });
    const u = new TokenSampler({ seed: 3, temperature: 0, eosTokenIds: [7], maxNewTokens: 2 }, []);
    u.next(logitsFor(1));
    expect(u.next(logitsFor(2))).toEqual({ token: 2, stop: 'length' });
    expect(u.generated).toEqual([1, 2]);
  });

  it('penalizes prompt ids and generated ids', () => {
    const s = new TokenSampler(
      { seed: 0, temperature: 0, repetitionPenalty: 10, eosTokenIds: [], maxNewTokens: 5 },
      [4],
    );
    const logits = new Float32Array([1, 2, 3, 4, 5, 0, 0, 0]);
    // 5 (id 4, in the prompt) → 0.5; then 4 (id 3) → 0.4 after it is generated, and so on down.
    expect([0, 1, 2, 3].map(() => s.next(logits).token)).toEqual([3, 2, 1, 0]);
  });

  it('is reproducible from the seed and resumes exactly from save()', () => {
    const seed = seededRng('token sampler').int(0, 2 ** 32);
    const opts = { seed, temperature: 1.3, topK: 6, eosTokenIds: [], maxNewTokens: 40 };
    const logits = (step: number) => Float32Array.from({ length: 8 }, (_, i) => Math.sin(i * 1.7 + step));
    const run = (s: TokenSampler, from: number, to: number) =>
      Array.from({ length: to - from }, (_, i) => s.next(logits(from + i)).token);
    const a = new TokenSampler(opts, [0]);
    const all = run(a, 0, 40);
    expect(a.stopped).toBe('length');
    expect(new Set(all).size).toBeGreaterThan(2);
    const b = new TokenSampler(opts, [0]);
    const head = run(b, 0, 17);
    const c = new TokenSampler(opts, [0], b.save());
    expect([...head, ...run(c, 17, 40)]).toEqual(all);
  });
});
