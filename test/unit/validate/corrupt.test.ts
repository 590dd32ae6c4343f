import { describe, expect, it } from 'vitest';
import { SeededRng as SeededRandom } from '../../../src/util/rng.ts';
import { corrupt, corruptionsFor, corruptVariants } from '../../../src/validate/corrupt.ts';
import { aspProblems, dotGraphs } from './fixtures.ts';

/** Every variant `name` can make of `text`, over many seeds. */
function variants(kind: Parameters<typeof corrupt>[0], text: string, name: string): string[] {
  const out = new Set<string>();
  for (let seed = 1; seed <= 60; seed++) {
    const v = corrupt(kind, text, name, new SeededRandom(seed));
    if (v) out.add(v.text);
  }
  return [...out].sort();
}

describe('corruptions', () => {
  it('lists the corruptions of each kind', () => {
    expect(corruptionsFor('asp')).toEqual(['drop-period', 'double-braces', 'unsafe-variable', 'non-ascii']);
    expect(corruptionsFor('dot')).toEqual(['drop-brace', 'drop-quote', 'arrow-in-undirected', 'bad-attribute-list']);
    expect(() => corrupt('asp', 'a.', 'nope', new SeededRandom(1))).toThrow(/unknown asp corruption/);
  });

  it('drops only statement-ending periods, never range dots, comments or strings', () => {
    const text = 'n(1..3). % a. b.\np("x. y").';
    expect(variants('asp', text, 'drop-period')).toEqual(
      ['n(1..3) % a. b.\np("x. y").', 'n(1..3). % a. b.\np("x. y")'].sort(),
    );
  });

  it('doubles a pair of braces', () => {
    expect(variants('asp', '{ a(X) : b(X) } = 1 :- c.', 'double-braces')).toEqual(['{{ a(X) : b(X) }} = 1 :- c.']);
    expect(corrupt('asp', 'a. b :- a.', 'double-braces', new SeededRandom(1))).toBeUndefined();
  });

  it('renames a head or negated variable to a fresh one', () => {
    const got = variants('asp', 'r(X) :- p(X), not q(X).', 'unsafe-variable');
    expect(got).toEqual(['r(X) :- p(X), not q(X1).', 'r(X1) :- p(X), not q(X).']);
  });

  it('puts a non-ASCII character into code, not comments', () => {
    const got = variants('asp', 'p(X) :- q(X), X != 1. % café', 'non-ascii');
    expect(got.length).toBeGreaterThan(1);
    for (const v of got) {
      expect(v.endsWith('% café')).toBe(true);
      expect(/[^\x00-\x7f]/.test(v.slice(0, -6))).toBe(true);
    }
  });

  it('breaks DOT graphs in the four ways', () => {
    expect(variants('dot', 'graph g { a -- b; }', 'arrow-in-undirected')).toEqual(['graph g { a -> b; }']);
    expect(variants('dot', 'digraph g { a -> b; }', 'arrow-in-undirected')).toEqual(['graph g { a -> b; }']);
    expect(variants('dot', 'digraph g { a -> b; }', 'drop-brace')).toEqual(
      ['digraph g  a -> b; }', 'digraph g { a -> b; '].sort(),
    );
    expect(variants('dot', 'digraph { a [label="x"]; // "c"\n}', 'drop-quote')).toEqual([
      'digraph { a [label="x]; // "c"\n}',
      'digraph { a [label=x"]; // "c"\n}',
    ]);
    expect(variants('dot', 'digraph { a [color=red, label="a b"]; }', 'bad-attribute-list')).toEqual(
      [
        'digraph { a [color=red, label="a b"; }',
        'digraph { a [color red, label="a b"]; }',
        'digraph { a [color=red, label "a b"]; }',
        'digraph { a [color=, label="a b"]; }',
        'digraph { a [color=red, label=]; }',
      ].sort(),
    );
  });

  it('is deterministic for a seed and gives distinct variants', () => {
    const program = aspProblems()[0]!.program;
    expect(corruptVariants('asp', program, 42, 3)).toEqual(corruptVariants('asp', program, 42, 3));
    const vs = corruptVariants('dot', dotGraphs()[0]!.dot, 7, 3);
    expect(new Set(vs.map((v) => v.text)).size).toBe(vs.length);
    expect(vs.every((v) => v.text !== dotGraphs()[0]!.dot)).toBe(true);
  });
});
