/**
 * Packing short examples into shared rows: placement (rows ≤ T, every example exactly once, deterministic, first-fit
 * decreasing), and the micro-batches of packed rows (segments, positions restarting per example, no target across a
 * boundary, padding in a segment of its own); unpacked micro-batches stay exactly what they were.
 */
import { describe, expect, it } from 'vitest';
import { IGNORE_INDEX } from '../../../src/kernels/cross_entropy.ts';
import { type Example, microBatch, trainedTokens } from '../../../src/train/batches.ts';
import { formatPackingStats, packExamples, packingStats } from '../../../src/train/packing.ts';
import { seededRng } from '../../harness/rng.ts';

const I = IGNORE_INDEX;

function randomExamples(name: string, n: number, maxLen: number): Example[] {
  const rng = seededRng(name);
  return Array.from({ length: n }, () => {
    const len = rng.int(1, maxLen + 1);
    return {
      ids: Array.from({ length: len }, () => rng.int(1, 1000)),
      mask: Array.from({ length: len }, () => (rng.next() < 0.6 ? 1 : 0)),
    };
  });
}

describe('packExamples', () => {
  it('fills rows of at most T tokens with every example exactly once, in its own segment', () => {
    const T = 32;
    const examples = randomExamples('packing placement', 200, 40); // some longer than T
    const rows = packExamples(examples, T);
    const seen = rows.flatMap((r) => r.sources).sort((a, b) => a - b);
    expect(seen).toEqual(examples.map((_, i) => i));
    for (const r of rows) {
      const parts = r.sources.map((i) => examples[i]!);
      if (r.ids.length > T) expect(r.sources, 'only a lone example may be longer than T').toHaveLength(1);
      expect(Array.from(r.ids)).toEqual(parts.flatMap((e) => Array.from(e.ids)));
      expect(Array.from(r.mask)).toEqual(parts.flatMap((e) => Array.from(e.mask)));
      expect(Array.from(r.segments)).toEqual(parts.flatMap((e, j) => Array.from(e.ids, () => j)));
      expect([...r.sources].sort((a, b) => a - b)).toEqual(r.sources);
    }
    // Deterministic, and no worse than one row per example.
    expect(packExamples(examples, T)).toEqual(rows);
    const stats = packingStats(examples, rows, T);
    expect(stats.rowsBefore).toBe(200);
    expect(stats.rowsAfter).toBe(rows.length);
    expect(stats.tokens).toBe(examples.reduce((s, e) => s + Math.min(e.ids.length, T), 0));
    expect(stats.fillAfter).toBeCloseTo(stats.tokens / (rows.length * T), 12);
    expect(stats.fillAfter).toBeGreaterThan(stats.fillBefore);
    expect(stats.fillAfter).toBeLessThanOrEqual(1);
    console.log(formatPackingStats(stats, T));
  });

  it('places longest first into the first row with room (first-fit decreasing)', () => {
    const ex = (len: number): Example => ({
      ids: Array.from({ length: len }, (_, i) => i + 1),
      mask: Array.from({ length: len }, () => 1),
    });
    // Lengths 3, 7, 5, 2, 12, 4 and T = 10, longest first: 12 → row 0 (alone, over T), 7 → row 1 (3 free),
    // 5 → row 2 (5 free), 4 → row 2 (1 free), 3 → row 1 (0 free), 2 → no row has room: row 3.
    const rows = packExamples([3, 7, 5, 2, 12, 4].map(ex), 10);
    expect(rows.map((r) => r.sources)).toEqual([[4], [0, 1], [2, 5], [3]]);
    expect(rows.map((r) => r.ids.length)).toEqual([12, 10, 9, 2]);
    expect(packExamples([], 10)).toEqual([]);
    expect(() => packExamples([{ ids: [1, 2], mask: [1] }], 4)).toThrow(/mask/);
  });
});

describe('micro-batches of packed rows', () => {
  it('restart positions at each example, pad in a segment of their own, and never target across a boundary', () => {
    const a = { ids: [11, 12, 13], mask: [1, 1, 1] };
    const b = { ids: [21, 22], mask: [1, 1] }; // its first token is learned: the boundary target must still be ignored
    const c = { ids: [31, 32, 33, 34], mask: [0, 0, 1, 1] };
    const rows = packExamples([a, b, c], 12);
    expect(rows).toHaveLength(1);
    const batch = microBatch(rows, 12, 0);
    expect(batch.B).toBe(1);
    // FFD places c (4) then a (3) then b (2); a row lists its examples in input order.
    expect(Array.from(batch.ids)).toEqual([11, 12, 13, 21, 22, 31, 32, 33, 34, 0, 0, 0]);
    expect(Array.from(batch.segments!)).toEqual([0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 3]);
    expect(Array.from(batch.positions!)).toEqual([0, 1, 2, 0, 1, 0, 1, 2, 3, 0, 1, 2]);
    expect(Array.from(batch.targets)).toEqual([12, 13, I, 22, I, I, 33, 34, I, I, I, I]);
    // The same trained tokens as the examples unpacked, one per row.
    const plain = microBatch([a, b, c], 12);
    expect(trainedTokens([batch])).toBe(trainedTokens([plain]));
    expect(plain.segments).toBeUndefined();
  });

  it('give every row segments and positions when any row is packed, and keep targets within segments', () => {
    const T = 24;
    const examples = randomExamples('packing micro-batch', 40, 12);
    const rows = packExamples(examples, T);
    const plain = examples.map((e) => microBatch([e], T));
    // Row by row: each example's tokens and targets sit at its offset, unchanged; its positions count from 0.
    for (const r of rows) {
      const batch = microBatch([r], T);
      let off = 0;
      for (const [j, i] of r.sources.entries()) {
        const n = examples[i]!.ids.length;
        const p = plain[i]!;
        expect(Array.from(batch.ids.subarray(off, off + n))).toEqual(Array.from(p.ids.subarray(0, n)));
        expect(Array.from(batch.targets.subarray(off, off + n))).toEqual(Array.from(p.targets.subarray(0, n)));
        expect(Array.from(batch.positions!.subarray(off, off + n))).toEqual(Array.from({ length: n }, (_, t) => t));
        expect(Array.from(batch.segments!.subarray(off, off + n))).toEqual(Array.from({ length: n }, () => j));
        off += n;
      }
      expect(Array.from(batch.segments!.subarray(off))).toEqual(
        Array.from({ length: T - off }, () => r.sources.length),
      );
      expect(Array.from(batch.positions!.subarray(off))).toEqual(Array.from({ length: T - off }, (_, t) => t));
      expect(Array.from(batch.targets.subarray(off)).every((t) => t === I)).toBe(true);
    }
    expect(trainedTokens(rows.map((r) => microBatch([r], T)))).toBe(trainedTokens(plain));

    // A packed row beside a plain one: the plain row is one segment with positions 0…, then its padding.
    const mixed = microBatch([rows[0]!, examples[0]!], T);
    const n0 = examples[0]!.ids.length;
    expect(Array.from(mixed.segments!.subarray(T))).toEqual(Array.from({ length: T }, (_, t) => (t < n0 ? 0 : 1)));
    expect(Array.from(mixed.positions!.subarray(T))).toEqual(
      Array.from({ length: T }, (_, t) => (t < n0 ? t : t - n0)),
    );
    expect(Array.from(mixed.targets.subarray(T))).toEqual(Array.from(plain[0]!.targets));
  });

  it('truncate a lone over-long row to T like an unpacked example', () => {
    const long = { ids: [1, 2, 3, 4, 5, 6], mask: [1, 1, 1, 1, 1, 1] };
    const rows = packExamples([long, { ids: [7, 8], mask: [0, 1] }], 4);
    expect(rows.map((r) => r.sources)).toEqual([[0], [1]]);
    const batch = microBatch(rows, 4);
    expect(Array.from(batch.ids)).toEqual([1, 2, 3, 4, 7, 8, 0, 0]);
    expect(Array.from(batch.targets)).toEqual([2, 3, 4, I, 8, I, I, I]);
    expect(Array.from(batch.segments!)).toEqual([0, 0, 0, 0, 0, 0, 1, 1]);
    expect(Array.from(batch.positions!)).toEqual([0, 1, 2, 3, 0, 1, 0, 1]);
  });

  it('leave unpacked micro-batches exactly as before, and reject decreasing segments', () => {
    const b = microBatch(
      [
        { ids: [5, 6, 7, 8], mask: [0, 0, 1, 1] },
        { ids: [9, 10], mask: [0, 1] },
      ],
      4,
    );
    expect(b).toEqual({
      ids: Uint32Array.from([5, 6, 7, 8, 9, 10, 0, 0]),
      targets: Uint32Array.from([I, 7, 8, I, 10, I, I, I]),
      B: 2,
      T: 4,
    });
    expect(Object.keys(b)).toEqual(['ids', 'targets', 'B', 'T']);
    expect(() => microBatch([{ ids: [1, 2, 3], mask: [1, 1, 1], segments: [0, 1, 0] }], 4)).toThrow(/decrease/);
    expect(() => microBatch([{ ids: [1, 2, 3], mask: [1, 1, 1], segments: [0, 1] }], 4)).toThrow(/segments/);
  });
});
