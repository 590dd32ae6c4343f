/** `npm run cli -- data import PATH ...`: the JSON summary and the written JSONL files. */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test, vi } from 'vitest';
import { command } from '../../../src/cli/commands/data.ts';
import { buildFixtureTokenizer } from '../../fixtures/tokenizer.ts';
import { datasetPath } from './helpers.ts';

interface Summary {
  format: string;
  counts: Record<string, number>;
  split: { train: number; valid: number; test: number };
  problems: { file: string; line: number | null; code: string; reason: string }[];
  tokens: { records: number; max: number; histogram: { counts: number[] } } | null;
  sources: { path: string; format: string | null }[];
}

async function run(args: string[]): Promise<{ code: number; summary: Summary }> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk);
    return true;
  });
  try {
    const code = await command.run(args);
    return { code, summary: JSON.parse(out) as Summary };
  } finally {
    spy.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

test('bad_inputs: the summary lists every problem with file, line and reason', async () => {
  const { code, summary } = await run(['import', datasetPath('bad_inputs'), '--json']);
  expect(code).toBe(0);
  expect(summary.format).toBe('mixed');
  expect(summary.counts).toMatchObject({ records: 11, duplicates: 1, problems: 11 });
  expect(summary.split).toEqual({ train: 9, valid: 2, test: 0 });
  expect(summary.problems.find((p) => p.file === 'bad_inputs/broken.jsonl' && p.line === 2)).toMatchObject({
    code: 'invalid_json',
  });
  expect(summary.tokens).toBeNull();
});

test('flags: split, seed, test fraction, output files in mlx-lm layout and as one JSONL', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cli-'));
  const { summary } = await run([
    datasetPath('personas'),
    '--split',
    '0.5',
    '--test',
    '0.25',
    '--seed',
    '4',
    '--out-dir',
    dir,
    '--out',
    join(dir, 'all.jsonl'),
  ]);
  // 18 rows: round(18 × 0.5) = 9 train, round(18 × 0.25) = 5 test, 4 valid
  expect(summary.split).toEqual({ train: 9, valid: 4, test: 5 });
  const lines = async (name: string) => (await readFile(join(dir, name), 'utf8')).trim().split('\n');
  expect(await lines('train.jsonl')).toHaveLength(9);
  expect(await lines('valid.jsonl')).toHaveLength(4);
  expect(await lines('test.jsonl')).toHaveLength(5);
  const all = await lines('all.jsonl');
  expect(all).toHaveLength(18);
  expect((JSON.parse(all[0]!) as { messages: { role: string }[] }).messages.map((m) => m.role)).toEqual([
    'user',
    'assistant',
  ]);
});

test('--model: token statistics with the model tokenizer and chat template', async () => {
  const model = await mkdtemp(join(tmpdir(), 'model-'));
  const files = buildFixtureTokenizer('chatml');
  await writeFile(join(model, 'tokenizer.json'), JSON.stringify(files.tokenizer));
  await writeFile(join(model, 'tokenizer_config.json'), JSON.stringify(files.config));
  const { summary } = await run([
    'import',
    datasetPath('chatml_presplit'),
    '--model',
    model,
    '--max-length',
    '4096',
    '--mask',
    'last',
  ]);
  expect(summary.tokens!.records).toBe(12);
  expect(summary.tokens!.max).toBeGreaterThan(20);
  expect(summary.tokens!.histogram.counts.reduce((a, b) => a + b, 0)).toBe(12);
});

test('usage errors', async () => {
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  expect(await command.run([])).toBe(2);
  await expect(command.run([datasetPath('personas'), '--mask', 'some'])).rejects.toThrow();
  err.mockRestore();
});
