/**
 * Imports every folder of ../shared/datasets (copied into test/fixtures/datasets) and checks the
 * detected format, row counts, split sizes and, for bad_inputs/, every problem with its line.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { ASP_EXPERT_SYSTEM_PROMPT, type ChatRecord } from '../../../src/schema/dataset.ts';
import { datasetPath, fixtureTokenizer, importFixture, problemKeys } from './helpers.ts';

function chats(records: { kind: string }[]): ChatRecord[] {
  return records.filter((r): r is ChatRecord => r.kind === 'chat');
}

describe('asp_benchmark (problem folders)', () => {
  test('one chat record per problem, with the ASP-expert system prompt', async () => {
    const res = await importFixture('asp_benchmark');
    expect(res.format).toBe('problem_folders');
    expect(res.sources.map((s) => [s.path, s.format, s.container, s.rows])).toEqual([
      ['asp_benchmark', 'problem_folders', 'folder', 12],
    ]);
    expect(res.problems).toEqual([]);
    expect(res.complete).toBe(true);
    expect(res.counts).toMatchObject({
      rowsRead: 12,
      records: 12,
      duplicates: 0,
      systemPromptAdded: 12,
      train: 10,
      valid: 2,
      test: 0,
    });
    const problems = readdirSync(datasetPath('asp_benchmark')).sort();
    expect(problems).toHaveLength(12);
    for (const name of problems) {
      const desc = ['NL.txt', 'IR.txt'].find((f) => readdirSync(datasetPath('asp_benchmark', name)).includes(f))!;
      const rec = chats(res.records).find((r) => r.source.file === `asp_benchmark/${name}/${desc}`);
      expect(rec, name).toBeDefined();
      expect(rec!.source.line).toBe(1);
      expect(rec!.messages).toEqual([
        { role: 'system', content: ASP_EXPERT_SYSTEM_PROMPT },
        { role: 'user', content: readFileSync(datasetPath('asp_benchmark', name, desc), 'utf8').trim() },
        { role: 'assistant', content: readFileSync(datasetPath('asp_benchmark', name, 'ASP.txt'), 'utf8').trim() },
      ]);
    }
  });

  test('the system prompt is configurable, and empty means none', async () => {
    const custom = await importFixture('asp_benchmark', { systemPrompt: 'Write clingo.' });
    expect(chats(custom.records).every((r) => r.messages[0]!.content === 'Write clingo.')).toBe(true);
    const none = await importFixture('asp_benchmark', { systemPrompt: '' });
    expect(chats(none.records).every((r) => r.messages.map((m) => m.role).join() === 'user,assistant')).toBe(true);
    expect(none.counts.systemPromptAdded).toBe(0);
  });
});

describe('dot_pairs (pairs with a mapping per file)', () => {
  test('JSON array and JSONL pairs, mapping shown per source, element lines as provenance', async () => {
    const res = await importFixture('dot_pairs');
    expect(res.format).toBe('pairs');
    expect(res.problems).toEqual([]);
    expect(res.sources.map((s) => [s.path, s.container, s.rows, s.mapping])).toEqual([
      ['dot_pairs/documentation.jsonl', 'jsonl', 4, { prompt: ['input_text'], answer: 'output_dot' }],
      ['dot_pairs/synthetic.jsonl', 'jsonl', 8, { prompt: ['input_text'], answer: 'output_dot' }],
      ['dot_pairs/training/statemachine_cat/pairs.json', 'json', 16, { prompt: ['input_code'], answer: 'output_dot' }],
    ]);
    expect(res.counts).toMatchObject({ records: 28, train: 22, valid: 6, test: 0 });
    const pairs = JSON.parse(readFileSync(datasetPath('dot_pairs/training/statemachine_cat/pairs.json'), 'utf8')) as {
      input_code: string;
      output_dot: string;
    }[];
    const fromArray = chats(res.records).filter((r) => r.source.file.endsWith('pairs.json'));
    // pretty-printed: element k starts on line 2 + 4k
    expect(fromArray.map((r) => r.source.line).sort((a, b) => a - b)).toEqual(pairs.map((_, k) => 2 + 4 * k));
    const first = fromArray.find((r) => r.source.line === 2)!;
    expect(first.messages).toEqual([
      { role: 'user', content: pairs[0]!.input_code },
      { role: 'assistant', content: pairs[0]!.output_dot },
    ]);
  });

  test('the mapping is editable: an override for one file changes only that file', async () => {
    const res = await importFixture('dot_pairs', {
      mappings: { 'dot_pairs/synthetic.jsonl': { prompt: ['output_dot'], answer: 'input_text' } },
    });
    const synthetic = chats(res.records).filter((r) => r.source.file === 'dot_pairs/synthetic.jsonl');
    expect(synthetic).toHaveLength(8);
    expect(synthetic.every((r) => /^(di)?graph /.test(r.messages[0]!.content))).toBe(true);
    const docs = chats(res.records).filter((r) => r.source.file === 'dot_pairs/documentation.jsonl');
    expect(docs.every((r) => /^(di)?graph /.test(r.messages[1]!.content))).toBe(true);
  });
});

describe('personas (chat JSONL)', () => {
  test('three files of user + assistant chats', async () => {
    const res = await importFixture('personas');
    expect(res.format).toBe('chat');
    expect(res.sources.map((s) => [s.path, s.rows])).toEqual([
      ['personas/eli5.jsonl', 6],
      ['personas/executive.jsonl', 6],
      ['personas/intuitive.jsonl', 6],
    ]);
    expect(res.counts).toMatchObject({
      records: 18,
      duplicates: 0,
      train: 14,
      valid: 4,
      test: 0,
      systemPromptAdded: 0,
    });
    const first = chats(res.records).find((r) => r.source.file === 'personas/eli5.jsonl' && r.source.line === 1)!;
    const raw = JSON.parse(readFileSync(datasetPath('personas/eli5.jsonl'), 'utf8').split('\n')[0]!) as {
      messages: unknown;
    };
    expect(first.messages).toEqual(raw.messages);
  });
});

describe('chatml_presplit (train.jsonl + valid.jsonl)', () => {
  test('kept as split, with their system messages', async () => {
    const res = await importFixture('chatml_presplit', { trainFraction: 0.5, seed: 99 });
    expect(res.format).toBe('chat');
    expect(res.presplit).toBe(true);
    expect(res.sources.map((s) => [s.path, s.presplit, s.rows])).toEqual([
      ['chatml_presplit/train.jsonl', 'train', 10],
      ['chatml_presplit/valid.jsonl', 'valid', 2],
    ]);
    expect(res.counts).toMatchObject({ records: 12, train: 10, valid: 2, test: 0, systemPromptAdded: 0 });
    for (const r of res.records) expect(r.split).toBe(r.source.file.endsWith('train.jsonl') ? 'train' : 'valid');
    expect(chats(res.records).every((r) => r.messages[0]!.role === 'system')).toBe(true);
  });
});

describe('chapters (raw text)', () => {
  test('one text record per Markdown file when the files fit the maximum length', async () => {
    const res = await importFixture('chapters');
    expect(res.format).toBe('raw_text');
    expect(res.kind).toBe('text');
    expect(res.counts).toMatchObject({ records: 4, train: 3, valid: 1 });
    for (const r of res.records) {
      expect(r.kind).toBe('text');
      if (r.kind === 'text') expect(r.text).toBe(readFileSync(datasetPath(r.source.file), 'utf8'));
    }
  });

  test('with a tokenizer, files are cut into windows of the maximum length that lose nothing', async () => {
    const tok = fixtureTokenizer('llama3');
    const maxLength = 48;
    const res = await importFixture('chapters', { maxLength }, { tokenizer: tok });
    expect(res.windowing).toBe('tokens');
    expect(res.counts.records).toBeGreaterThan(8);
    expect(res.tokens!.max).toBeLessThanOrEqual(maxLength);
    expect(res.counts.droppedTooLong).toBe(0);
    for (const name of readdirSync(datasetPath('chapters'))) {
      const windows = res.records.filter((r) => r.source.file === `chapters/${name}`);
      const text = readFileSync(datasetPath('chapters', name), 'utf8');
      expect(windows.length).toBeGreaterThan(1);
      expect(windows.map((w) => (w.kind === 'text' ? w.text : '')).join('')).toBe(text);
      for (const w of windows)
        if (w.kind === 'text') expect(tok.encode(w.text, true).length + 1).toBeLessThanOrEqual(maxLength);
      expect(windows[0]!.source.line).toBe(1);
    }
  });
});

describe('bad_inputs', () => {
  test('every problem is reported with file, line and reason; good rows are kept and counted', async () => {
    const res = await importFixture('bad_inputs');
    expect(problemKeys(res.problems)).toEqual(
      [
        'bad_inputs/asp_missing_answer/p1:- missing_asp',
        'bad_inputs/binary_named_jsonl/data.jsonl:- binary_file',
        'bad_inputs/broken.jsonl:2 invalid_json',
        'bad_inputs/broken.jsonl:3 missing_answer',
        'bad_inputs/broken.jsonl:4 unknown_role',
        'bad_inputs/broken.jsonl:6 non_string_content',
        'bad_inputs/empty.jsonl:- empty_file',
        'bad_inputs/mixed_formats.jsonl:2 mixed_formats',
        'bad_inputs/mixed_formats.jsonl:3 mixed_formats',
        'bad_inputs/not_an_array.json:1 object_not_array',
        'bad_inputs/wrong_fields_pairs.json:1 wrong_fields',
      ].sort(),
    );
    for (const p of res.problems) expect(p.reason.length).toBeGreaterThan(10);
    const reason = (file: string, line: number | null) =>
      res.problems.find((p) => p.file === file && p.line === line)!.reason;
    expect(reason('bad_inputs/broken.jsonl', 4)).toContain('"bot"');
    expect(reason('bad_inputs/broken.jsonl', 6)).toContain('number');
    expect(reason('bad_inputs/wrong_fields_pairs.json', 1)).toContain('input_code');
    expect(reason('bad_inputs/asp_missing_answer/p1', null)).toContain('ASP.txt');
    expect(res.complete).toBe(false);
    const rows = Object.fromEntries(res.sources.map((s) => [s.path, s.rows]));
    expect(rows).toEqual({
      'bad_inputs/asp_missing_answer': 1,
      'bad_inputs/bom_crlf.jsonl': 4,
      'bad_inputs/broken.jsonl': 2,
      'bad_inputs/empty.jsonl': 0,
      'bad_inputs/mixed_formats.jsonl': 1,
      'bad_inputs/not_an_array.json': 0,
      'bad_inputs/utf16.jsonl': 3,
      'bad_inputs/wrong_fields_pairs.json': 1,
      'bad_inputs/binary_named_jsonl/data.jsonl': 0,
    });
    // broken.jsonl line 7 repeats line 1 exactly
    expect(res.duplicates).toEqual([
      {
        source: { file: 'bad_inputs/broken.jsonl', line: 7 },
        duplicateOf: { file: 'bad_inputs/broken.jsonl', line: 1 },
      },
    ]);
    expect(res.counts).toMatchObject({ rowsRead: 12, duplicates: 1, records: 11, problems: 11, train: 9, valid: 2 });
  });

  test('UTF-8 with BOM and CRLF, and UTF-16, decode to clean rows', async () => {
    const res = await importFixture('bad_inputs');
    const encodings = Object.fromEntries(res.sources.map((s) => [s.path, s.encoding]));
    expect(encodings['bad_inputs/bom_crlf.jsonl']).toBe('utf-8-bom');
    expect(encodings['bad_inputs/utf16.jsonl']).toBe('utf-16le');
    const bom = chats(res.records)
      .filter((r) => r.source.file === 'bad_inputs/bom_crlf.jsonl')
      .sort((a, b) => a.source.line - b.source.line);
    expect(bom.map((r) => r.messages)).toEqual(
      [0, 1, 2, 3].map((i) => [
        { role: 'user', content: `Q${i}` },
        { role: 'assistant', content: `A${i}` },
      ]),
    );
    const utf16 = chats(res.records)
      .filter((r) => r.source.file === 'bad_inputs/utf16.jsonl')
      .sort((a, b) => a.source.line - b.source.line);
    expect(utf16.map((r) => [r.source.line, r.messages[0]!.content, r.messages[1]!.content])).toEqual([
      [1, 'Grüße 0', 'Hallo 0'],
      [2, 'Grüße 1', 'Hallo 1'],
      [3, 'Grüße 2', 'Hallo 2'],
    ]);
  });
});

test('the whole datasets folder at once: every source read, Markdown next to structured data skipped', async () => {
  const res = await importFixture('.');
  expect(res.format).toBe('mixed');
  expect(res.skipped.map((s) => s.path).sort()).toEqual(
    readdirSync(datasetPath('chapters'))
      .map((n) => `datasets/chapters/${n}`)
      .sort(),
  );
  // 12 asp + 28 dot + 18 personas + 12 presplit + 11 good bad_inputs rows (after the duplicate)
  expect(res.counts.records).toBe(12 + 28 + 18 + 12 + 11);
  expect(res.problems).toHaveLength(11);
  expect(res.presplit).toBe(true);
  expect(
    res.records
      .filter((r) => r.source.file.startsWith('datasets/chatml_presplit/valid'))
      .every((r) => r.split === 'valid'),
  ).toBe(true);
});
