/** The token-length histogram of a large dataset (more lengths than a spread call can take). */
import { expect, test } from 'vitest';
import { histogram } from '../../../src/data/tokenize.ts';

test('a histogram of 300,000 lengths', () => {
  const lengths = Array.from({ length: 300_000 }, (_, i) => (i % 3000) + 1);
  const h = histogram(lengths, 2048);
  expect(h.binWidth).toBe(150);
  expect(h.counts.reduce((a, b) => a + b, 0)).toBe(300_000);
  expect(histogram([10, 20], 100)).toEqual({ binWidth: 5, counts: [0, 0, 1, 0, 1, ...new Array(15).fill(0)] });
});
