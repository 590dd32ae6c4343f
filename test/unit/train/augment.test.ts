/**
 * The ASP distillation pipeline's data: problem folders split by problem (a folder's descriptions and their
 * rewrites stay together), repair pairs made split by split with the system prompt, and prompt variants from a
 * template list in their source's split. The leak check compares every validation program with every training row.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importDataset } from '../../../src/data/import.ts';
import { filesFromPaths } from '../../../src/data/node-files.ts';
import { ASP_EXPERT_SYSTEM_PROMPT, type DatasetRecord } from '../../../src/schema/dataset.ts';
import { addPromptVariants, addRepairPairs, parseVariantTemplates } from '../../../src/train/augment.ts';
import { createValidator } from '../../../src/validate/registry.ts';
import { datasetPath } from '../data/helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'augment-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The sample problems, with user-written rewrites beside four of the descriptions (NL.casual.txt, …). */
function problemsWithRewrites(): string {
  const root = join(tmp, 'asp_benchmark');
  cpSync(datasetPath('asp_benchmark'), root, { recursive: true });
  for (const [dir, tone] of [
    ['graph_coloring', 'casual'],
    ['graph_coloring', 'academic'],
    ['n_queens', 'succinct'],
    ['knapsack', 'business'],
    ['sudoku_4x4', 'didactic'],
  ] as const)
    writeFileSync(join(root, dir, `NL.${tone}.txt`), `(${tone}) Please solve the ${dir.replace(/_/g, ' ')} problem.`);
  return root;
}

const problemOf = (r: DatasetRecord) => r.source.file.split('/').at(-2)!;
const answerOf = (r: DatasetRecord) => (r.kind === 'chat' ? r.messages.at(-1)!.content : r.text);
const textOf = (r: DatasetRecord) => (r.kind === 'chat' ? r.messages.map((m) => m.content).join('\n') : r.text);

/** Training rows that hold a validation program (as the answer or quoted in a repair prompt). */
function leaks(records: readonly DatasetRecord[]): string[] {
  const validPrograms = new Set(records.filter((r) => r.split === 'valid').map(answerOf));
  return records
    .filter((r) => r.split === 'train' && [...validPrograms].some((p) => textOf(r).includes(p.trim().slice(0, 60))))
    .map((r) => r.source.file);
}

describe('ASP distillation data', () => {
  it('splits by problem: rewrites stay with their problem; a row split would leak', async () => {
    const root = problemsWithRewrites();
    const files = await filesFromPaths([root]);
    const bySource = await importDataset(files, { trainFraction: 0.75, seed: 3 });
    expect(bySource.records).toHaveLength(12 + 5);
    const splitsOf = new Map<string, Set<string>>();
    for (const r of bySource.records)
      splitsOf.set(problemOf(r), (splitsOf.get(problemOf(r)) ?? new Set()).add(r.split));
    expect([...splitsOf.values()].every((s) => s.size === 1)).toBe(true);
    // The fractions count problems: 9 of 12 train, 3 valid.
    const problems = (split: string) => [...splitsOf.entries()].filter(([, s]) => s.has(split)).length;
    expect([problems('train'), problems('valid')]).toEqual([9, 3]);
    expect(leaks(bySource.records)).toEqual([]);

    // The old per-row split puts some rewrite in another split than its problem: the leak check sees it.
    let leaked = 0;
    for (let seed = 0; seed < 8; seed++)
      leaked += leaks((await importDataset(files, { trainFraction: 0.75, seed, splitBy: 'row' })).records).length;
    expect(leaked).toBeGreaterThan(0);
  });

  it('makes repair pairs split by split, with the system prompt, never crossing the split', async () => {
    const imported = await importDataset(await filesFromPaths([datasetPath('asp_benchmark')]), {
      trainFraction: 0.75,
      seed: 1,
    });
    const { records, added } = await addRepairPairs(imported.records, 'asp', createValidator('asp'), { seed: 2 });
    expect(added.train).toBeGreaterThan(20);
    expect(added.valid).toBeGreaterThan(5);
    const repairs = records.slice(imported.records.length);
    expect(repairs).toHaveLength(added.train + added.valid);
    for (const r of repairs) {
      if (r.kind !== 'chat') throw new Error('repair pairs are chat rows');
      expect(r.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant']);
      expect(r.messages[0]!.content).toBe(ASP_EXPERT_SYSTEM_PROMPT);
      // Its answer is its source problem's program, and the source is in the same split.
      const source = imported.records.find((s) => s.source.file === r.source.file)!;
      expect(r.split).toBe(source.split);
      expect(answerOf(r)).toBe(answerOf(source));
    }
    expect(leaks(records)).toEqual([]);
  });

  it('adds template variants in their source split', () => {
    const templates = parseVariantTemplates(
      JSON.stringify([
        { name: 'academic', template: 'In formal academic prose: {prompt}' },
        { name: 'casual', template: 'hey, quick one: {prompt}' },
        'Briefly: {prompt}',
      ]),
    );
    expect(templates.map((t) => t.name)).toEqual(['academic', 'casual', 'variant3']);
    expect(() => parseVariantTemplates('Rewrite this')).toThrow(/no \{prompt\}/);
    const base: DatasetRecord[] = [
      {
        kind: 'chat',
        messages: [
          { role: 'system', content: 'S' },
          { role: 'user', content: 'colour the graph' },
          { role: 'assistant', content: 'p.' },
        ],
        source: { file: 'a/NL.txt', line: 1 },
        split: 'valid',
      },
    ];
    const { records, added } = addPromptVariants(base, templates);
    expect(added).toEqual({ train: 0, valid: 3, test: 0 });
    expect(records.map((r) => (r.kind === 'chat' ? r.messages[1]!.content : ''))).toEqual([
      'colour the graph',
      'In formal academic prose: colour the graph',
      'hey, quick one: colour the graph',
      'Briefly: colour the graph',
    ]);
    expect(records.every((r) => r.split === 'valid' && r.kind === 'chat' && r.messages[2]!.content === 'p.')).toBe(
      true,
    );
  });
});
