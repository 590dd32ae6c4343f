/**
 * Exact-duplicate removal and the seeded train/valid/test split.
 * Duplicates are found by hashing each record's content (kind + roles + contents, or text); a hash
 * hit is confirmed by comparing the content itself, so the result is exact.
 */
import type { Provenance, Split } from '../schema/dataset.ts';
import { contentKey, type ParsedRecord } from './records.ts';

/** 53-bit string hash (cyrb53). */
export function hash53(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

export interface Duplicate {
  source: Provenance;
  duplicateOf: Provenance;
}

export interface DedupeResult<R> {
  unique: R[];
  /** Number of records removed. */
  removed: number;
  /** The removed records' provenance (the first `keepExamples` of them). */
  examples: Duplicate[];
}

/** Removes exact duplicates, keeping the first occurrence (pre-split train rows come first). */
export function dedupe<R extends ParsedRecord>(records: R[], keepExamples = 100): DedupeResult<R> {
  const seen = new Map<number, number[]>();
  const unique: R[] = [];
  const examples: Duplicate[] = [];
  let removed = 0;
  for (const record of records) {
    const key = contentKey(record);
    const h = hash53(key);
    const bucket = seen.get(h);
    const hit = bucket?.find((i) => contentKey(unique[i]!) === key);
    if (hit !== undefined) {
      removed++;
      if (examples.length < keepExamples) examples.push({ source: record.source, duplicateOf: unique[hit]!.source });
      continue;
    }
    if (bucket) bucket.push(unique.length);
    else seen.set(h, [unique.length]);
    unique.push(record);
  }
  return { unique, removed, examples };
}

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SplitSizes {
  train: number;
  valid: number;
  test: number;
}

/** How many of `n` records go to each split. valid gets at least one when n ≥ 2 and train < 1. */
export function splitSizes(n: number, trainFraction: number, testFraction: number): SplitSizes {
  let test = Math.round(n * testFraction);
  let train = Math.min(n - test, Math.round(n * trainFraction));
  if (n - train - test === 0 && n >= 2 && trainFraction + testFraction < 1) {
    if (train >= test && train > 0) train--;
    else if (test > 0) test--;
  }
  return { train, valid: n - train - test, test };
}

/**
 * Assigns a split to each record: pre-split records keep theirs; the others are shuffled with a
 * PRNG seeded by `seed` and cut by the fractions. With `bySource` (the default) records of one group
 * (a problem folder's descriptions, a raw-text file's windows) are one unit: they land in the same
 * split and the fractions count units (problems, files), so no split holds another's problem.
 * Records without a group are units of their own. Returns one split per record, in input order.
 */
export function assignSplits(
  records: ParsedRecord[],
  trainFraction: number,
  testFraction: number,
  seed: number,
  bySource = true,
): Split[] {
  const out: Split[] = records.map((r) => r.presplit ?? 'train');
  // Units in the order of their first record; `members` lists each unit's records.
  const members: number[][] = [];
  const unitOf = new Map<string, number>();
  records.forEach((r, i) => {
    if (r.presplit) return;
    if (bySource && r.group !== undefined) {
      const u = unitOf.get(r.group);
      if (u !== undefined) {
        members[u]!.push(i);
        return;
      }
      unitOf.set(r.group, members.length);
    }
    members.push([i]);
  });
  const free = members.map((_, u) => u);
  const rand = mulberry32(seed);
  for (let i = free.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = free[i]!;
    free[i] = free[j]!;
    free[j] = t;
  }
  const sizes = splitSizes(free.length, trainFraction, testFraction);
  free.forEach((u, k) => {
    const split = k < sizes.train ? 'train' : k < sizes.train + sizes.valid ? 'valid' : 'test';
    for (const idx of members[u]!) out[idx] = split;
  });
  return out;
}
