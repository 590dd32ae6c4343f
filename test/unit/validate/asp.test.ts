import { describe, expect, it } from 'vitest';
import { AspValidator, parseClingoMessages } from '../../../src/validate/asp.ts';
import { getValidator } from '../../../src/validate/registry.ts';
import { aspProblems } from './fixtures.ts';

describe('ASP validator (clingo-wasm)', () => {
  const asp = getValidator('asp');

  it('accepts every ASP.txt of the asp_benchmark fixture, each satisfiable', async () => {
    const problems = aspProblems();
    expect(problems.length).toBe(12);
    for (const p of problems) {
      const r = await asp.validate(p.program);
      expect(r.errors, p.name).toEqual([]);
      expect(r.ok, p.name).toBe(true);
      expect(r.detail?.result, p.name).toBe('SATISFIABLE');
    }
    expect(asp.label).toMatch(/^clingo \d+\.\d+\.\d+$/);
  });

  it("reports a syntax error with clingo's message and location", async () => {
    const r = await asp.validate('a.\nb c.\n');
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual([
      { message: '-:2:3-4: error: syntax error, unexpected <IDENTIFIER>', line: 2, col: 3, kind: 'syntax' },
    ]);
    expect(r.detail?.stage).toBe('parsing failed');
  });

  it('reports unsafe variables as a grounding error, with the note', async () => {
    const r = await asp.validate('q(1).\np(X) :- q(Y).');
    expect(r.ok).toBe(false);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.kind).toBe('unsafe-variable');
    expect(r.errors[0]!.line).toBe(2);
    expect(r.errors[0]!.message).toContain('error: unsafe variables in:');
    expect(r.errors[0]!.message).toContain("note: 'X' is unsafe");
    expect(r.detail?.stage).toBe('grounding stopped because of errors');
  });

  it('rejects non-ASCII characters with a lexer error', async () => {
    const r = await asp.validate('p(1..3). q(X) :- p(X), X ≠ 2.');
    expect(r.ok).toBe(false);
    expect(r.errors.some((e) => e.kind === 'lexer')).toBe(true);
  });

  it('keeps info messages as warnings: the program is still valid', async () => {
    const r = await asp.validate('a :- b.');
    expect(r.ok).toBe(true);
    expect(r.warnings).toEqual([
      { message: '-:1:6-7: info: atom does not occur in any rule head:\n  b', line: 1, col: 6, kind: 'undefined-atom' },
    ]);
  });

  it('reports UNSATISFIABLE, an error only when satisfiability is required', async () => {
    const unsat = 'a. :- a.';
    const plain = await asp.validate(unsat);
    expect(plain.ok).toBe(true);
    expect(plain.detail?.result).toBe('UNSATISFIABLE');
    const strict = await new AspValidator({ requireSatisfiable: true }).validate(unsat);
    expect(strict.ok).toBe(false);
    expect(strict.errors).toEqual([{ message: 'UNSATISFIABLE', kind: 'unsatisfiable' }]);
  });

  it('rejects empty input', async () => {
    const r = await asp.validate('  \n');
    expect(r.ok).toBe(false);
    expect(r.errors[0]!.kind).toBe('empty');
  });

  it('keeps working after errors (one engine, many runs)', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await asp.validate('x y.')).ok).toBe(false);
      expect((await asp.validate(`p(${i}).`)).ok).toBe(true);
    }
  });

  it('splits clingo stderr into messages', () => {
    const parsed = parseClingoMessages([
      '-:1:3-4: error: lexer error, unexpected é',
      '',
      '-:1:5-6: error: syntax error, unexpected )',
      '',
      '*** ERROR: (clingo): parsing failed',
    ]);
    expect(parsed.stage).toBe('parsing failed');
    expect(parsed.errors.map((e) => [e.line, e.col, e.kind])).toEqual([
      [1, 3, 'lexer'],
      [1, 5, 'syntax'],
    ]);
  });
});
