import { describe, expect, it } from 'vitest';
import { DotValidator } from '../../../src/validate/dot.ts';
import { getValidator } from '../../../src/validate/registry.ts';
import { dotGraphs } from './fixtures.ts';

describe('DOT validator (Graphviz in WASM)', () => {
  const dot = getValidator('dot');

  it('accepts every graph of the dot_pairs fixture', async () => {
    const graphs = dotGraphs();
    expect(graphs.length).toBe(28);
    for (const g of graphs) {
      const r = await dot.validate(g.dot);
      expect(r.errors, g.where).toEqual([]);
      expect(r.ok, g.where).toBe(true);
    }
    expect(dot.label).toMatch(/^Graphviz \d+\.\d+/);
  });

  it("rejects -> in an undirected graph with Graphviz's message", async () => {
    const r = await dot.validate('graph g {\n  a -- b;\n  b -> c;\n}');
    expect(r).toEqual({
      ok: false,
      errors: [{ message: "syntax error in line 3 near '->'", line: 3, kind: 'syntax' }],
    });
  });

  it('reports a missing closing brace at the end of input', async () => {
    const r = await dot.validate('digraph g {\n  a -> b;\n');
    expect(r.ok).toBe(false);
    expect(r.errors[0]!.message).toBe('syntax error in line 3');
    expect(r.errors[0]!.line).toBe(3);
  });

  it('reports an unterminated string', async () => {
    const r = await dot.validate('digraph { a [label="x]; }');
    expect(r.ok).toBe(false);
    expect(r.errors[0]!.kind).toBe('unterminated-string');
    expect(r.errors[0]!.message).toContain('scanning a quoted string');
  });

  it('rejects empty input and input with no graph', async () => {
    expect((await dot.validate('')).errors[0]!.kind).toBe('empty');
    const r = await dot.validate('/* only a comment */');
    expect(r.ok).toBe(false);
    expect(r.errors[0]!.kind).toBe('no-graph');
  });

  it('recovers after an error and validates the next graph', async () => {
    expect((await dot.validate('digraph { a -> }')).ok).toBe(false);
    expect((await dot.validate('digraph { a -> b }')).ok).toBe(true);
  });

  it('runs another layout engine when asked', async () => {
    const neato = new DotValidator({ engine: 'neato' });
    expect((await neato.validate('graph { a -- b -- c -- a }')).ok).toBe(true);
  });
});
