import { describe, expect, it } from 'vitest';
import { compareRuns, evaluateValidity, normalizeForMatch, type EvalItem } from '../../../src/validate/evaluate.ts';
import { createValidator } from '../../../src/validate/registry.ts';
import { aspProblems, sqlChat } from './fixtures.ts';

describe('validity evaluation', () => {
  const problems = aspProblems().slice(0, 4);

  /** A base model that gets two of four right and an adapter that gets three. */
  const base: EvalItem[] = [
    { prompt: problems[0]!.task, answer: problems[0]!.program, reference: problems[0]!.program },
    {
      prompt: problems[1]!.task,
      answer: 'Here you go:\n```asp\n' + problems[1]!.program + '```',
      reference: problems[1]!.program,
    },
    { prompt: problems[2]!.task, answer: problems[2]!.program.replace('.', ''), reference: problems[2]!.program },
    { prompt: problems[3]!.task, answer: 'p(X) :- q.', reference: problems[3]!.program },
  ];
  const adapter: EvalItem[] = [
    { ...base[0]!, answer: 'a. :- a.' },
    base[1]!,
    { ...base[2]!, answer: problems[2]!.program.replace(/\n/g, '  \r\n') },
    { ...base[3]!, answer: problems[3]!.program + '% solved\n' },
  ];

  it('reports validity rate, error kinds, solver results and exact match', async () => {
    const report = await evaluateValidity('asp', base, createValidator('asp'));
    expect(report.n).toBe(4);
    expect(report.valid).toBe(2);
    expect(report.validityRate).toBe(0.5);
    expect(report.errorKinds).toEqual({ syntax: 1, 'unsafe-variable': 1 });
    expect(report.results).toEqual({ SATISFIABLE: 2 });
    expect(report.exactMatch).toEqual({ n: 4, matches: 2, rate: 0.5 });
    expect(report.items.map((i) => i.from)).toEqual(['raw', 'fence', 'raw', 'raw']);
    expect(report.validator).toMatch(/^clingo/);
  });

  it('compares a base run with an adapter run', async () => {
    const v = createValidator('asp');
    const a = await evaluateValidity('asp', base, v);
    const b = await evaluateValidity('asp', adapter, v);
    expect(b.validityRate).toBe(1);
    expect(b.results).toEqual({ SATISFIABLE: 3, UNSATISFIABLE: 1 });
    const cmp = compareRuns(a, b);
    expect(cmp.validityRate).toEqual({ base: 0.5, other: 1, delta: 0.5 });
    expect(cmp.exactMatchRate).toEqual({ base: 0.5, other: 0.5, delta: 0 });
    expect(cmp.fixed).toEqual([2, 3]);
    expect(cmp.broken).toEqual([]);
    expect(cmp.errorKinds).toEqual({
      syntax: { base: 1, other: 0, delta: -1 },
      'unsafe-variable': { base: 1, other: 0, delta: -1 },
    });
    expect(() => compareRuns(a, { ...b, n: 3 })).toThrow(/not comparable/);
  });

  it('exact match ignores line endings and trailing spaces only', () => {
    expect(normalizeForMatch('a.  \r\nb.\n\n')).toBe('a.\nb.');
    expect(normalizeForMatch('a. b.')).not.toBe(normalizeForMatch('a.\nb.'));
  });

  it('SQL: uses the schema in each prompt, so a wrong column is an error', async () => {
    const chats = sqlChat().slice(0, 3);
    const items = chats.map((c) => {
      const answer = c.messages.find((m) => m.role === 'assistant')!.content;
      return { prompt: c.messages.find((m) => m.role === 'user')!.content, answer, reference: answer };
    });
    items[1] = { ...items[1]!, answer: items[1]!.answer.replace('salary', 'salry') };
    const report = await evaluateValidity('sql', items, createValidator('sql'));
    expect(report.valid).toBe(2);
    expect(report.errorKinds).toEqual({ 'no-such-column': 1 });
    const noSchema = await evaluateValidity('sql', items, createValidator('sql'), { sqlSchemaFromPrompt: false });
    expect(noSchema.valid).toBe(3);
  });

  it('an empty answer is invalid', async () => {
    const r = await evaluateValidity(
      'dot',
      [{ answer: 'I cannot draw that.' }, { answer: '' }],
      createValidator('dot'),
    );
    expect(r.valid).toBe(0);
    expect(r.exactMatch).toBeNull();
    expect(r.errorKinds).toEqual({ syntax: 1, empty: 1 });
  });
});
