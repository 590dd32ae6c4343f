import { describe, expect, it } from 'vitest';
import { corruptVariants } from '../../../src/validate/corrupt.ts';
import { createValidator, VALIDATORS } from '../../../src/validate/registry.ts';
import { makeRepairPairs, repairTransform, type RepairChat, type RepairPair } from '../../../src/validate/repair.ts';
import { formatErrors, type ValidatorKind } from '../../../src/validate/types.ts';
import { aspProblems, dotGraphs, sqlChat } from './fixtures.ts';

/** The broken code shown in a repair prompt (the first fenced block in the kind's language). */
function brokenCodeIn(prompt: string, kind: ValidatorKind): string {
  const fence = '```' + VALIDATORS[kind].fence + '\n';
  const start = prompt.indexOf(fence) + fence.length;
  return prompt.slice(start, prompt.indexOf('\n```', start));
}

async function checkRecords(kind: ValidatorKind, sources: Array<{ task: string; answer: string }>, seed: number) {
  const { records, stats } = await makeRepairPairs(kind, sources, createValidator(kind), { seed, perCorruption: 2 });
  expect(stats.invalidSources).toBe(0);
  expect(records.length).toBeGreaterThan(sources.length);
  // A fresh validator re-checks every kept variant: rejected, with exactly the message in the record.
  const judge = createValidator(kind);
  for (const r of records) {
    const broken = brokenCodeIn(r.prompt, kind);
    const verdict = await judge.validate(broken);
    expect(verdict.ok, `${r.meta.corruption}: ${r.meta.change}`).toBe(false);
    expect(formatErrors(verdict)).toBe(r.meta.error);
    expect(r.prompt).toContain('```\n' + r.meta.error + '\n```');
    expect(r.prompt).toContain(`Task:\n${sources[r.meta.source]!.task.trim()}`);
    expect(r.answer).toBe(sources[r.meta.source]!.answer);
  }
  // Variants the validator accepted were dropped: regenerate them and check each one it let through.
  let dropped = 0;
  const kept = new Set(records.map((r) => brokenCodeIn(r.prompt, kind)));
  for (let i = 0; i < sources.length; i++) {
    for (const v of corruptVariants(kind, sources[i]!.answer.trim(), seed + i * 7919, 2)) {
      if (kept.has(v.text)) continue;
      expect((await judge.validate(v.text)).ok, v.description).toBe(true);
      dropped++;
    }
  }
  const tried = Object.values(stats.tried).reduce((a, b) => a + b, 0);
  expect(records.length + dropped).toBe(tried);
  return { records, stats };
}

describe('synthetic repair data', () => {
  it('ASP: every kept corruption of every asp_benchmark program is rejected by clingo with the recorded message', async () => {
    const sources = aspProblems().map((p) => ({ task: p.task, answer: p.program }));
    const { records, stats } = await checkRecords('asp', sources, 11);
    for (const c of ['drop-period', 'double-braces', 'unsafe-variable', 'non-ascii']) {
      expect(stats.kept[c], c).toBeGreaterThanOrEqual(sources.length - 2);
    }
    const unsafe = records.find((r) => r.meta.corruption === 'unsafe-variable')!;
    expect(unsafe.meta.error).toMatch(/error: unsafe variables in:/);
    const braces = records.find((r) => r.meta.corruption === 'double-braces')!;
    expect(braces.meta.error).toMatch(/error: syntax error, unexpected \{/);
  });

  it('DOT: every kept corruption of every dot_pairs graph is rejected by Graphviz with the recorded message', async () => {
    const sources = dotGraphs().map((g) => ({ task: g.input, answer: g.dot }));
    const { records, stats } = await checkRecords('dot', sources, 5);
    for (const c of ['drop-brace', 'drop-quote', 'arrow-in-undirected', 'bad-attribute-list']) {
      expect(stats.kept[c], c).toBeGreaterThan(5);
    }
    const arrow = records.find((r) => r.meta.corruption === 'arrow-in-undirected')!;
    expect(arrow.meta.error).toMatch(/^syntax error in line \d+ near '->'$/);
  });

  it('skips originals that do not validate', async () => {
    const { records, stats } = await makeRepairPairs(
      'dot',
      [{ answer: 'digraph { a -> }' }, { answer: 'digraph { a -> b; }' }],
      createValidator('dot'),
    );
    expect(stats.invalidSources).toBe(1);
    expect(records.every((r) => r.meta.source === 1)).toBe(true);
  });

  it('works as a dataset transform over chat records, keeping the system message', async () => {
    const chats = sqlChat();
    const { records, stats } = await repairTransform('sql', chats, createValidator('sql'), { seed: 2 });
    expect(records.length).toBeGreaterThan(0);
    expect(stats.kept['misspelled-keyword']).toBeGreaterThan(0);
    for (const r of records as RepairChat[]) {
      const src = chats[r.meta.source]!.messages;
      expect(r.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant']);
      expect(r.messages[0]!.content).toBe(src[0]!.content);
      expect(r.messages[2]!.content).toBe(src.find((m) => m.role === 'assistant')!.content);
      expect(r.messages[1]!.content).toContain(r.meta.error);
    }
  });

  it('works as a dataset transform over prompt/answer pairs, with or without the task', async () => {
    const pairs = [{ prompt: 'Make a graph of a and b.', answer: 'graph g {\n  a -- b [label="x"];\n}' }];
    const withTask = await repairTransform('dot', pairs, createValidator('dot'));
    const first = withTask.records[0] as RepairPair;
    expect(
      first.prompt.startsWith('Task:\nMake a graph of a and b.\n\nThis Graphviz DOT graph is rejected by Graphviz'),
    ).toBe(true);
    expect(first.answer).toBe(pairs[0]!.answer);
    const noTask = await repairTransform('dot', pairs, createValidator('dot'), { includeTask: false });
    expect((noTask.records[0] as RepairPair).prompt.startsWith('This Graphviz DOT graph')).toBe(true);
  });
});
