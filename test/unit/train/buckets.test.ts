import { describe, expect, it } from 'vitest';
import { bucketLength, bucketedMicroBatch, microBatch } from '../../../src/train/batches.ts';

describe('length buckets', () => {
  it('round the longest row up to 16, 24, 32, 48, 64, 96, … capped at maxT', () => {
    const got = [1, 16, 17, 24, 25, 33, 49, 65, 97, 129, 200, 300, 513, 1000].map((n) => bucketLength(n, 4096));
    expect(got).toEqual([16, 16, 24, 24, 32, 48, 64, 96, 128, 192, 256, 384, 768, 1024]);
    expect(bucketLength(700, 600)).toBe(600);
    expect(bucketLength(100, 110)).toBe(110);
    expect(bucketLength(7, 7)).toBe(7);
    // Padding stays under a third of the row (and the number of buckets up to T is logarithmic).
    for (let n = 16; n <= 4096; n++) expect(bucketLength(n, 8192) / n).toBeLessThan(1.5 + 1e-9);
    expect(new Set(Array.from({ length: 2048 }, (_, i) => bucketLength(i + 1, 2048))).size).toBe(15);
  });

  it('a micro-batch is padded to its own bucket, with the same rows and targets as the full-length one', () => {
    const rows = [
      { ids: [5, 6, 7, 8, 9], mask: [0, 0, 1, 1, 1] },
      { ids: Array.from({ length: 20 }, (_, i) => i + 1), mask: Array(20).fill(1) },
    ];
    const b = bucketedMicroBatch(rows, 512);
    expect(b.T).toBe(24);
    const full = microBatch(rows, 512);
    for (let r = 0; r < 2; r++) {
      expect(Array.from(b.ids.subarray(r * 24, r * 24 + 24))).toEqual(
        Array.from(full.ids.subarray(r * 512, r * 512 + 24)),
      );
      expect(Array.from(b.targets.subarray(r * 24, r * 24 + 24))).toEqual(
        Array.from(full.targets.subarray(r * 512, r * 512 + 24)),
      );
    }
    expect(bucketedMicroBatch(rows, 12).T).toBe(12);
  });
});
