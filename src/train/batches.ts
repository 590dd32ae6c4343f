/**
 * Training examples ({ids, mask}: mask[t] = 1 when token t is learned) → micro-batches of B rows padded to T, with
 * next-token targets: position t predicts ids[t + 1] and trains only when mask[t + 1] = 1.
 *
 * A packed row (several examples in one row, see packing.ts) also carries a segment id per token; then every row of
 * the micro-batch gets segments and RoPE positions (restarting at 0 at each segment start), the padding after a row's
 * last token gets a segment of its own, and a target never crosses a segment boundary: the last token of a segment
 * trains on nothing, whatever the next segment's mask says. Without packed rows the batch is what it always was.
 */
import { IGNORE_INDEX } from '../kernels/cross_entropy.ts';
import type { TrainBatch } from '../model/model.ts';

export interface Example {
  ids: ArrayLike<number>;
  /** 1 where the token is learned */
  mask: ArrayLike<number>;
  /** Packed rows only: segment id per token (non-decreasing); attention and targets never cross a change of id. */
  segments?: ArrayLike<number>;
  /** Packed rows only: RoPE position per token; by default 0, 1, … restarting at each segment start. */
  positions?: ArrayLike<number>;
}

export function microBatch(examples: readonly Example[], T: number, padId = 0): TrainBatch {
  const B = examples.length;
  const ids = new Uint32Array(B * T).fill(padId);
  const targets = new Uint32Array(B * T).fill(IGNORE_INDEX);
  examples.forEach((e, b) => {
    if (e.ids.length !== e.mask.length)
      throw new Error(`example ${b}: ${e.ids.length} ids but ${e.mask.length} mask values`);
    const n = Math.min(e.ids.length, T);
    for (let t = 0; t < n; t++) ids[b * T + t] = e.ids[t]!;
    for (let t = 0; t + 1 < n; t++)
      if (e.mask[t + 1] && (!e.segments || e.segments[t + 1] === e.segments[t])) targets[b * T + t] = e.ids[t + 1]!;
  });
  if (!examples.some((e) => e.segments || e.positions)) return { ids, targets, B, T };
  const segments = new Uint32Array(B * T);
  const positions = new Uint32Array(B * T);
  examples.forEach((e, b) => {
    for (const [name, a] of [
      ['segments', e.segments],
      ['positions', e.positions],
    ] as const) {
      if (a && a.length !== e.ids.length) throw new Error(`example ${b}: ${e.ids.length} ids but ${a.length} ${name}`);
    }
    const n = Math.min(e.ids.length, T);
    let pos = 0;
    for (let t = 0; t < n; t++) {
      const s = e.segments ? e.segments[t]! : 0;
      if (t > 0 && s < segments[b * T + t - 1]!) throw new Error(`example ${b}: segment ids decrease at token ${t}`);
      if (t > 0 && s !== segments[b * T + t - 1]) pos = 0;
      segments[b * T + t] = s;
      positions[b * T + t] = e.positions ? e.positions[t]! : pos;
      pos++;
    }
    // Padding: one more segment after the last real one, positions from 0 (as segmentIdsFromLengths does).
    const padSegment = n > 0 ? segments[b * T + n - 1]! + 1 : 0;
    for (let t = n; t < T; t++) {
      segments[b * T + t] = padSegment;
      positions[b * T + t] = t - n;
    }
  });
  return { ids, targets, B, T, segments, positions };
}

/** Tokens that train in a set of micro-batches (the denominator of the accumulated batch's mean loss). */
export function trainedTokens(batches: readonly TrainBatch[]): number {
  let n = 0;
  for (const b of batches) for (const t of b.targets) if (t !== IGNORE_INDEX) n++;
  return n;
}

/**
 * The row length a micro-batch is padded to: its longest row (at most maxT) rounded up to the next of 16, 24, 32,
 * 48, 64, 96, … (powers of two and 1.5× them), capped at maxT. Padding stays under a third of the longest row, and
 * a run meets few distinct shapes, so each shape's recorded step is replayed (see src/gpu/replay.ts).
 */
export function bucketLength(longest: number, maxT: number): number {
  const n = Math.max(1, Math.min(longest, maxT));
  let b = 16;
  while (b < n) b = b % 3 === 0 ? (b / 3) * 4 : (b / 2) * 3;
  return Math.min(b, maxT);
}

/** A micro-batch padded only to its own longest row's length bucket (see bucketLength), never beyond maxT. */
export function bucketedMicroBatch(examples: readonly Example[], maxT: number, padId = 0): TrainBatch {
  const longest = examples.reduce((m, e) => Math.max(m, e.ids.length), 0);
  return microBatch(examples, bucketLength(longest, maxT), padId);
}
