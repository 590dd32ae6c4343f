/** Seeded split (any ratio, deterministic by seed), pre-split files, exact-duplicate removal. */
import { describe, expect, test } from 'vitest';
import { importDataset } from '../../../src/data/import.ts';
import { chatRecord, textRecord, type ParsedRecord } from '../../../src/data/records.ts';
import { assignSplits, dedupe, splitSizes } from '../../../src/data/split.ts';
import { textFile } from './helpers.ts';

const records = (n: number): ParsedRecord[] =>
  Array.from({ length: n }, (_, i) =>
    chatRecord(
      [
        { role: 'user', content: `q${i}` },
        { role: 'assistant', content: `a${i}` },
      ],
      'f.jsonl',
      i + 1,
    ),
  );

describe('seeded split', () => {
  test('the same seed gives the same split; another seed a different one', () => {
    const rs = records(50);
    const a = assignSplits(rs, 0.8, 0, 7);
    expect(assignSplits(rs, 0.8, 0, 7)).toEqual(a);
    expect(assignSplits(rs, 0.8, 0, 8)).not.toEqual(a);
    expect(a.filter((s) => s === 'train')).toHaveLength(40);
    expect(a.filter((s) => s === 'valid')).toHaveLength(10);
  });

  test('any ratio, with a test split', () => {
    const s = assignSplits(records(100), 0.7, 0.1, 1);
    expect([
      s.filter((x) => x === 'train').length,
      s.filter((x) => x === 'valid').length,
      s.filter((x) => x === 'test').length,
    ]).toEqual([70, 20, 10]);
    expect(splitSizes(10, 0.55, 0)).toEqual({ train: 6, valid: 4, test: 0 });
    expect(splitSizes(1, 0.8, 0)).toEqual({ train: 1, valid: 0, test: 0 });
    expect(splitSizes(10, 1, 0)).toEqual({ train: 10, valid: 0, test: 0 });
  });

  test('a small dataset still gets one validation row', () => {
    expect(splitSizes(3, 0.9, 0)).toEqual({ train: 2, valid: 1, test: 0 });
    expect(splitSizes(2, 0.8, 0)).toEqual({ train: 1, valid: 1, test: 0 });
  });

  test('pre-split rows keep their split whatever the ratio and seed', () => {
    const rs = records(6);
    rs[0]!.presplit = 'valid';
    rs[1]!.presplit = 'test';
    const s = assignSplits(rs, 1, 0, 3);
    expect(s.slice(0, 2)).toEqual(['valid', 'test']);
    expect(s.slice(2)).toEqual(['train', 'train', 'train', 'train']);
  });

  test('the split is seeded end to end through importDataset', async () => {
    const file = () =>
      textFile(
        'd.jsonl',
        records(30)
          .map((r) => JSON.stringify({ messages: (r as { messages: unknown }).messages }))
          .join('\n'),
      );
    const a = await importDataset([file()], { seed: 5, trainFraction: 0.6 });
    const b = await importDataset([file()], { seed: 5, trainFraction: 0.6 });
    const c = await importDataset([file()], { seed: 6, trainFraction: 0.6 });
    expect(a.records.map((r) => r.split)).toEqual(b.records.map((r) => r.split));
    expect(a.records.map((r) => r.split)).not.toEqual(c.records.map((r) => r.split));
    expect(a.counts).toMatchObject({ train: 18, valid: 12 });
  });
});

describe('exact duplicates', () => {
  test('removed and counted, first occurrence kept; near-duplicates stay', () => {
    const rs: ParsedRecord[] = [
      ...records(3),
      ...records(2).map((r) => ({ ...r, source: { file: 'g.jsonl', line: r.source.line } })),
      chatRecord(
        [
          { role: 'user', content: 'q0' },
          { role: 'assistant', content: 'a0 ' },
        ],
        'g.jsonl',
        9,
      ),
      chatRecord(
        [
          { role: 'system', content: 'q0' },
          { role: 'assistant', content: 'a0' },
        ],
        'g.jsonl',
        10,
      ),
      textRecord('q0', 'h.txt', 1),
      textRecord('q0', 'i.txt', 1),
    ];
    const d = dedupe(rs);
    expect(d.removed).toBe(3);
    expect(d.unique).toHaveLength(rs.length - 3);
    expect(d.examples).toEqual([
      { source: { file: 'g.jsonl', line: 1 }, duplicateOf: { file: 'f.jsonl', line: 1 } },
      { source: { file: 'g.jsonl', line: 2 }, duplicateOf: { file: 'f.jsonl', line: 2 } },
      { source: { file: 'i.txt', line: 1 }, duplicateOf: { file: 'h.txt', line: 1 } },
    ]);
  });

  test('a pre-split valid row that repeats a train row is removed from valid', async () => {
    const row = JSON.stringify({ prompt: 'p', completion: 'c' });
    const res = await importDataset([
      textFile('valid.jsonl', `${row}\n${JSON.stringify({ prompt: 'p2', completion: 'c2' })}\n`),
      textFile('train.jsonl', `${row}\n`),
    ]);
    expect(res.counts).toMatchObject({ duplicates: 1, train: 1, valid: 1 });
    expect(res.duplicates).toEqual([
      { source: { file: 'valid.jsonl', line: 1 }, duplicateOf: { file: 'train.jsonl', line: 1 } },
    ]);
  });

  test('dedupe can be turned off', async () => {
    const row = JSON.stringify({ text: 'same' });
    const res = await importDataset([textFile('t.jsonl', `${row}\n${row}\n`)], { dedupe: false });
    expect(res.counts).toMatchObject({ duplicates: 0, records: 2 });
  });
});
