/**
 * Next-token sampling on the host, from one row of logits [V] read back per step (pure TypeScript, browser-safe).
 * Order, as Hugging Face's generate applies its processors and warpers:
 *   final soft-cap c·tanh(l/c) (gemma2)  →  repetition penalty  →  greedy argmax (temperature 0), or
 *   temperature  →  top-k  →  top-p  →  min-p  →  softmax over the survivors  →  one draw from a seeded RNG.
 * Filters work on a Float64Array of logits in place, removing tokens by setting them to −Infinity; the highest
 * logit always survives. Ties: greedy takes the lowest id; top-k keeps every token tied with the k-th largest
 * logit (as HF's `scores < topk[-1]` test); top-p orders equal probabilities by lower id first.
 * Reproducible: the RNG is counter-based (draw i is a hash of (seed, i)), so its whole state is (seed, counter).
 */
import { SeededRng } from '../util/rng.ts';

/**
 * The app's seeded generator (src/util/rng.ts, mulberry32) seen as a counter-based stream: draw i is the hash of
 * seed + (i+1)·0x6D2B79F5, so the state (seed, counter) can be saved with a generation and resumed exactly.
 */
export class CounterRng {
  private readonly gen: SeededRng;
  private drawn: number;

  constructor(
    readonly seed: number,
    counter = 0,
  ) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
      throw new RangeError(`rng seed must be a u32, got ${seed}`);
    if (!Number.isInteger(counter) || counter < 0)
      throw new RangeError(`rng counter must be an integer ≥ 0, got ${counter}`);
    this.gen = new SeededRng((seed + Math.imul(counter, 0x6d2b79f5)) >>> 0);
    this.drawn = counter;
  }

  /** Draws taken so far. */
  get counter(): number {
    return this.drawn;
  }

  /** Uniform in [0, 1) with 32 random bits; advances the counter. */
  next(): number {
    this.drawn++;
    return this.gen.next();
  }

  save(): { seed: number; counter: number } {
    return { seed: this.seed, counter: this.drawn };
  }

  static restore(s: { seed: number; counter: number }): CounterRng {
    return new CounterRng(s.seed, s.counter);
  }
}

/** Index of the largest value; ties → the lowest index. NaN never wins (an all-NaN row gives 0). */
export function argmax(x: ArrayLike<number>): number {
  let best = -1;
  for (let i = 0; i < x.length; i++) if (!Number.isNaN(x[i]!) && (best < 0 || x[i]! > x[best]!)) best = i;
  return Math.max(best, 0);
}

/** Gemma2's final_logit_softcapping: l ← c·tanh(l/c), in place (c > 0). */
export function softcapLogits(logits: Float32Array | Float64Array, c: number): void {
  if (!(c > 0) || !Number.isFinite(c)) throw new RangeError(`soft-cap must be finite and > 0, got ${c}`);
  for (let i = 0; i < logits.length; i++) logits[i] = c * Math.tanh(logits[i]! / c);
}

/** HF repetition penalty, in place, once per distinct seen id: l > 0 → l / p, else l·p. */
export function applyRepetitionPenalty(
  logits: Float32Array | Float64Array,
  seen: Iterable<number>,
  penalty: number,
): void {
  if (!(penalty > 0) || !Number.isFinite(penalty))
    throw new RangeError(`repetition penalty must be finite and > 0, got ${penalty}`);
  for (const id of new Set(seen)) {
    if (!Number.isInteger(id) || id < 0 || id >= logits.length) continue;
    const l = logits[id]!;
    logits[id] = l > 0 ? l / penalty : l * penalty;
  }
}

/** Keeps the tokens whose logit ≥ the k-th largest (ties with it included); k ≥ V keeps all. */
export function topKFilter(logits: Float64Array, k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`top-k must be a positive integer, got ${k}`);
  if (k >= logits.length) return;
  const sorted = Float64Array.from(logits).sort(); // ascending; −Infinity first
  const kth = sorted[logits.length - k]!;
  for (let i = 0; i < logits.length; i++) if (logits[i]! < kth) logits[i] = -Infinity;
}

/** Softmax of the surviving logits (float64); removed tokens get 0. */
export function softmax(logits: Float64Array): Float64Array {
  let m = -Infinity;
  for (const l of logits) m = Math.max(m, l);
  const p = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    p[i] = logits[i] === -Infinity ? 0 : Math.exp(logits[i]! - m);
    sum += p[i]!;
  }
  for (let i = 0; i < p.length; i++) p[i]! /= sum;
  return p;
}

/**
 * Nucleus filter: in order of decreasing probability (equal ones by lower id), keeps each token while the mass of
 * the tokens before it is < p, i.e. the smallest prefix whose mass reaches p, the token that crosses p included.
 */
export function topPFilter(logits: Float64Array, p: number): void {
  if (!(p > 0 && p <= 1)) throw new RangeError(`top-p must be in (0, 1], got ${p}`);
  if (p === 1) return;
  const prob = softmax(logits);
  const ids: number[] = [];
  for (let i = 0; i < prob.length; i++) if (logits[i] !== -Infinity) ids.push(i);
  ids.sort((a, b) => prob[b]! - prob[a]! || a - b);
  let mass = 0;
  let j = 0;
  for (; j < ids.length && mass < p; j++) mass += prob[ids[j]!]!;
  for (; j < ids.length; j++) logits[ids[j]!] = -Infinity;
}

/** Min-p filter: removes tokens whose probability is < minP · (the largest probability). */
export function minPFilter(logits: Float64Array, minP: number): void {
  if (!(minP >= 0 && minP <= 1)) throw new RangeError(`min-p must be in [0, 1], got ${minP}`);
  if (minP === 0) return;
  const prob = softmax(logits);
  let top = 0;
  for (const x of prob) top = Math.max(top, x);
  for (let i = 0; i < prob.length; i++) if (prob[i]! < minP * top) logits[i] = -Infinity;
}

/** Inverse-CDF draw: the first id (ascending) whose cumulative probability exceeds u ∈ [0, 1). */
export function drawIndex(prob: ArrayLike<number>, u: number): number {
  let acc = 0;
  let last = -1;
  for (let i = 0; i < prob.length; i++) {
    if (prob[i]! <= 0) continue;
    acc += prob[i]!;
    last = i;
    if (u < acc) return i;
  }
  if (last < 0) throw new RangeError('no token has a positive probability');
  return last; // u within rounding of the total
}

export interface SamplingOptions {
  /** 0 = greedy (default 1). */
  temperature?: number;
  /** 0 = off. */
  topK?: number;
  /** 1 = off. */
  topP?: number;
  /** 0 = off. */
  minP?: number;
  /** 1 = off. */
  repetitionPenalty?: number;
  /** Gemma2's final logit soft-cap (ModelDescription.finalSoftcap); null / 0 = off. */
  finalSoftcap?: number | null;
}

/**
 * One next token from logits [V] (not modified). `seen`: the ids the repetition penalty applies to (HF: the prompt
 * and every generated token). Greedy steps do not consume random numbers.
 */
export function sampleToken(
  logits: Float32Array,
  opts: SamplingOptions,
  rng: CounterRng,
  seen: Iterable<number> = [],
): number {
  const x = Float64Array.from(logits);
  if (opts.finalSoftcap) softcapLogits(x, opts.finalSoftcap);
  const penalty = opts.repetitionPenalty ?? 1;
  if (penalty !== 1) applyRepetitionPenalty(x, seen, penalty);
  const temperature = opts.temperature ?? 1;
  if (!(temperature >= 0) || !Number.isFinite(temperature))
    throw new RangeError(`temperature must be finite and ≥ 0, got ${temperature}`);
  if (temperature === 0) return argmax(x);
  for (let i = 0; i < x.length; i++) x[i] = Number.isNaN(x[i]!) ? -Infinity : x[i]! / temperature;
  if (x.every((l) => l === -Infinity)) throw new RangeError('sampling: every logit is −Infinity or NaN');
  if (opts.topK) topKFilter(x, opts.topK);
  if (opts.topP !== undefined) topPFilter(x, opts.topP);
  if (opts.minP) minPFilter(x, opts.minP);
  return drawIndex(softmax(x), rng.next());
}

export interface GenerationOptions extends SamplingOptions {
  seed: number;
  /** Generation stops after one of these ids (which is kept as the last token). */
  eosTokenIds: number[];
  maxNewTokens: number;
}

export type StopReason = 'eos' | 'length';

/** The host side of a generate loop: feed it each step's logits; it tracks seen ids, the RNG and the stop rule. */
export class TokenSampler {
  readonly generated: number[] = [];
  readonly rng: CounterRng;
  private readonly seen: Set<number>;
  private readonly eos: Set<number>;
  stopped: StopReason | null = null;

  constructor(
    readonly opts: GenerationOptions,
    promptIds: Iterable<number>,
    state?: { rng: { seed: number; counter: number }; generated: number[] },
  ) {
    if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 0)
      throw new RangeError(`maxNewTokens must be an integer ≥ 0, got ${opts.maxNewTokens}`);
    this.rng = state ? CounterRng.restore(state.rng) : new CounterRng(opts.seed >>> 0);
    this.seen = new Set(promptIds);
    this.eos = new Set(opts.eosTokenIds);
    for (const id of state?.generated ?? []) this.accept(id);
    if (this.generated.length >= opts.maxNewTokens && !this.stopped) this.stopped = 'length';
  }

  private accept(id: number): void {
    this.generated.push(id);
    this.seen.add(id);
    if (this.eos.has(id)) this.stopped = 'eos';
    else if (this.generated.length >= this.opts.maxNewTokens) this.stopped = 'length';
  }

  /** Samples and records the next token; throws once generation has stopped. */
  next(logits: Float32Array): { token: number; stop: StopReason | null } {
    if (this.stopped) throw new Error(`generation already stopped (${this.stopped})`);
    const token = sampleToken(logits, this.opts, this.rng, this.seen);
    this.accept(token);
    return { token, stop: this.stopped };
  }

  /** Everything needed to resume the same stream: the RNG state and the generated ids. */
  save(): { rng: { seed: number; counter: number }; generated: number[] } {
    return { rng: this.rng.save(), generated: [...this.generated] };
  }
}
