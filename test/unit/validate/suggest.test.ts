import { describe, expect, it } from 'vitest';
import { nameTokens, suggestValidator, suggestValidators } from '../../../src/validate/suggest.ts';
import { aspProblems, dotGraphs, sqlChat } from './fixtures.ts';

describe('validator suggestion', () => {
  it('splits names into tokens', () => {
    expect(nameTokens('output_dot')).toEqual(['output', 'dot']);
    expect(nameTokens('ASP.txt')).toEqual(['asp', 'txt']);
    expect(nameTokens('sqlQuery')).toEqual(['sql', 'query']);
  });

  it('suggests from field names', () => {
    expect(suggestValidator({ fields: ['input_code', 'output_dot'] })).toMatchObject({ kind: 'dot', score: 0.9 });
    expect(suggestValidator({ fields: ['question', 'sql'] })?.kind).toBe('sql');
    expect(suggestValidator({ fields: ['prompt', 'answer_json'] })?.kind).toBe('json');
    expect(suggestValidator({ fields: ['prompt', 'answer'] })).toBeUndefined();
  });

  it('suggests from file names, not from record containers', () => {
    expect(suggestValidator({ files: ['asp_benchmark/n_queens/ASP.txt'] })).toMatchObject({ kind: 'asp', score: 0.8 });
    expect(suggestValidator({ files: ['graphs/a.gv'] })?.kind).toBe('dot');
    expect(suggestValidator({ files: ['queries/top.sql'] })?.kind).toBe('sql');
    expect(suggestValidator({ files: ['data/pairs.json'] })).toBeUndefined();
    expect(suggestValidator({ files: ['dot_pairs/synthetic.jsonl'] })).toMatchObject({ kind: 'dot', score: 0.6 });
  });

  it('suggests from the content of the answers', () => {
    expect(suggestValidator({ samples: aspProblems().map((p) => p.program) })?.kind).toBe('asp');
    expect(suggestValidator({ samples: dotGraphs().map((g) => g.dot) })?.kind).toBe('dot');
    const sql = sqlChat().map((c) => c.messages.find((m) => m.role === 'assistant')!.content);
    expect(suggestValidator({ samples: sql })?.kind).toBe('sql');
    expect(suggestValidator({ samples: ['{"a": 1}', '[1, 2]', '```json\n{"b": 2}\n```'] })).toMatchObject({
      kind: 'json',
      score: 0.75,
    });
    expect(suggestValidator({ samples: ['Paris is the capital of France.'] })).toBeUndefined();
  });

  it('ranks names above content and keeps one suggestion per kind', () => {
    const all = suggestValidators({ fields: ['output_dot'], samples: ['SELECT 1;', 'digraph { a -> b }'] });
    expect(all.map((s) => s.kind)).toEqual(['dot', 'sql']);
    expect(all[0]!.reason).toBe('field "output_dot"');
  });
});
