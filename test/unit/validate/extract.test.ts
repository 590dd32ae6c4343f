import { describe, expect, it } from 'vitest';
import { extractCode, fencedBlocks, isAspProse } from '../../../src/validate/extract.ts';
import { getValidator } from '../../../src/validate/registry.ts';
import { aspProblems, dotGraphs } from './fixtures.ts';

describe('code extraction from model answers', () => {
  it("takes the fenced block in the kind's language over others", () => {
    const answer =
      'Here is an example input:\n```text\nfoo\n```\nAnd the graph:\n```dot\ndigraph g { a -> b; }\n```\nDone.';
    expect(extractCode(answer, 'dot')).toEqual({ code: 'digraph g { a -> b; }', from: 'fence', lang: 'dot' });
  });

  it('takes an unlabeled fence, a tilde fence, and a fence the model never closed', () => {
    expect(extractCode('Sure:\n```\nSELECT 1;\n```', 'sql')).toEqual({ code: 'SELECT 1;', from: 'fence' });
    expect(extractCode('~~~~json\n{"a": "```"}\n~~~~', 'json').code).toBe('{"a": "```"}');
    expect(extractCode('Program:\n```asp\na.\nb :- a.', 'asp').code).toBe('a.\nb :- a.');
  });

  it('lists fences with their info strings', () => {
    expect(fencedBlocks('```python title="x"\nprint(1)\n```\n  ```\nplain\n  ```')).toEqual([
      { lang: 'python', code: 'print(1)' },
      { lang: '', code: 'plain' },
    ]);
  });

  it('cuts leading and trailing prose around a DOT graph', () => {
    const answer = 'The state machine as a graph:\n\ndigraph m {\n  a -> b [label="}"];\n}\n\nIt has two states.';
    expect(extractCode(answer, 'dot')).toEqual({ code: 'digraph m {\n  a -> b [label="}"];\n}', from: 'prose' });
  });

  it('finds the JSON value inside prose', () => {
    expect(extractCode('The result is {"a": [1, {"b": "}"}]} as requested.', 'json')).toEqual({
      code: '{"a": [1, {"b": "}"}]}',
      from: 'prose',
    });
    expect(extractCode('Broken: {"a": 1,} sorry', 'json').code).toBe('{"a": 1,}');
  });

  it('starts SQL at the first statement keyword and ends at the last semicolon', () => {
    expect(extractCode('Use this query:\nSELECT name\nFROM t;\nThis lists the names.', 'sql')).toEqual({
      code: 'SELECT name\nFROM t;',
      from: 'prose',
    });
  });

  it('drops prose lines before and after an ASP program', () => {
    const answer =
      'Here is the program:\n\nnode(1..3).\n{ red; green; blue }.\n:- not reached(t).\n\nThis program colors the graph.';
    expect(extractCode(answer, 'asp')).toEqual({
      code: 'node(1..3).\n{ red; green; blue }.\n:- not reached(t).',
      from: 'prose',
    });
    expect(isAspProse('#show assign/2.')).toBe(false);
    expect(isAspProse('## Solution')).toBe(true);
  });

  it('leaves a bare answer as it is, and extracted fixture answers still validate', async () => {
    const [p] = aspProblems();
    expect(extractCode(p!.program, 'asp')).toEqual({ code: p!.program.trim(), from: 'raw' });
    const wrapped = `Sure! Here is the ASP encoding.\n\n\`\`\`clingo\n${p!.program}\`\`\`\n\nLet me know if you need changes.`;
    expect((await getValidator('asp').validate(extractCode(wrapped, 'asp').code)).ok).toBe(true);
    const g = dotGraphs()[0]!;
    expect((await getValidator('dot').validate(extractCode(`Graph:\n${g.dot}\nEnd.`, 'dot').code)).ok).toBe(true);
  });
});
