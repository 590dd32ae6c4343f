/**
 * Packing short training examples into shared rows of at most T tokens, so that fewer padded tokens go through the
 * model. Each packed row carries a segment id per token (its examples' index within the row); microBatch turns that
 * into attention segments, RoPE positions restarting at every example, and targets that never cross from one
 * example into the next, so a packed row trains exactly the tokens its examples trained alone, with the same loss.
 *
 * Placement is first-fit decreasing: examples sorted by length (longest first, ties by input index), each put into
 * the first row with room, found in O(log rows) with a max tree over the rows' free space. Why not greedy in input
 * order: the run reshuffles rows every epoch (epochOrder), so the input order carries nothing worth keeping, while
 * greedy order wastes the end of a row whenever a long example follows a short one; first-fit decreasing needs at
 * most 11/9 of the optimal number of rows (+ 1). Both are deterministic; this one depends only on the examples'
 * lengths and order, so the same dataset always gives the same rows (checkpoints count rows to resume).
 *
 * An example longer than T is not split: it gets a row of its own and microBatch truncates it, as without packing.
 */
import type { Example } from './batches.ts';

export interface PackedRow extends Example {
  ids: Uint32Array;
  /** 1 where the token is learned (the examples' masks, concatenated) */
  mask: Uint8Array;
  /** Segment id per token: j for the row's j-th example. */
  segments: Uint32Array;
  /** Indices into packExamples' input of the examples in this row, in row order. */
  sources: number[];
}

export function packExamples(examples: readonly Example[], T: number): PackedRow[] {
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`packing needs a positive row length, got ${T}`);
  examples.forEach((e, i) => {
    if (e.ids.length !== e.mask.length)
      throw new Error(`example ${i}: ${e.ids.length} ids but ${e.mask.length} mask values`);
    if (e.segments || e.positions) throw new Error(`example ${i} is already packed`);
  });
  const order = examples.map((_, i) => i).sort((a, b) => examples[b]!.ids.length - examples[a]!.ids.length || a - b);
  const free = new MaxTree(examples.length, T);
  const members: number[][] = [];
  for (const i of order) {
    const len = examples[i]!.ids.length;
    if (len > T) {
      // Longest first, so these take rows 0, 1, … before anything is placed.
      free.set(members.length, 0);
      members.push([i]);
      continue;
    }
    const r = free.firstAtLeast(len); // always found: a fresh row has T free
    if (r === members.length) members.push([]);
    members[r]!.push(i);
    free.set(r, free.get(r) - len);
  }
  return members.map((row) => {
    row.sort((a, b) => a - b);
    const n = row.reduce((s, i) => s + examples[i]!.ids.length, 0);
    const packed: PackedRow = {
      ids: new Uint32Array(n),
      mask: new Uint8Array(n),
      segments: new Uint32Array(n),
      sources: row,
    };
    let t = 0;
    row.forEach((i, j) => {
      const e = examples[i]!;
      for (let k = 0; k < e.ids.length; k++, t++) {
        packed.ids[t] = e.ids[k]!;
        packed.mask[t] = e.mask[k] ? 1 : 0;
        packed.segments[t] = j;
      }
    });
    return packed;
  });
}

export interface PackingStats {
  /** Rows without packing: one per example. */
  rowsBefore: number;
  rowsAfter: number;
  /** Tokens that go through the model (each example cut to T). */
  tokens: number;
  /** tokens / (rows · T), before and after packing. */
  fillBefore: number;
  fillAfter: number;
}

export function packingStats(examples: readonly Example[], rows: readonly Example[], T: number): PackingStats {
  const tokens = examples.reduce((s, e) => s + Math.min(e.ids.length, T), 0);
  const fill = (n: number) => (n > 0 ? tokens / (n * T) : 0);
  return {
    rowsBefore: examples.length,
    rowsAfter: rows.length,
    tokens,
    fillBefore: fill(examples.length),
    fillAfter: fill(rows.length),
  };
}

/** One log line, e.g. "packing: 1200 → 310 rows of 512 tokens, fill 23.1% → 89.4%". */
export function formatPackingStats(s: PackingStats, T: number): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  return `packing: ${s.rowsBefore} → ${s.rowsAfter} rows of ${T} tokens, fill ${pct(s.fillBefore)} → ${pct(s.fillAfter)}`;
}

/** Free space per row, with the leftmost row having at least a given amount in O(log n). */
class MaxTree {
  private readonly size: number;
  private readonly tree: Int32Array;

  constructor(n: number, initial: number) {
    this.size = 1 << Math.ceil(Math.log2(Math.max(1, n)));
    this.tree = new Int32Array(2 * this.size).fill(initial);
  }

  get(i: number): number {
    return this.tree[this.size + i]!;
  }

  set(i: number, v: number): void {
    let k = this.size + i;
    this.tree[k] = v;
    for (k >>= 1; k >= 1; k >>= 1) this.tree[k] = Math.max(this.tree[2 * k]!, this.tree[2 * k + 1]!);
  }

  firstAtLeast(v: number): number {
    if (this.tree[1]! < v) throw new Error(`no row has ${v} tokens free`);
    let k = 1;
    while (k < this.size) k = this.tree[2 * k]! >= v ? 2 * k : 2 * k + 1;
    return k - this.size;
  }
}
