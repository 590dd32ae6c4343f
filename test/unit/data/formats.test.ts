/**
 * Row formats and containers beyond the shared samples: Alpaca, text JSONL, TRL conversational
 * prompt/completion, JSON arrays with a broken element, format and mapping overrides, CSV/TSV
 * (papaparse) and Parquet (hyparquet; files written with hyparquet-writer) with a column mapping.
 */
import { parquetWriteBuffer } from 'hyparquet-writer';
import { describe, expect, test } from 'vitest';
import { importDataset } from '../../../src/data/import.ts';
import type { ChatRecord, DatasetRecord } from '../../../src/schema/dataset.ts';
import { problemKeys, textFile } from './helpers.ts';

const jsonl = (...rows: unknown[]) =>
  rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';

function messagesOf(records: DatasetRecord[]): [number, string[]][] {
  return records
    .filter((r): r is ChatRecord => r.kind === 'chat')
    .map((r) => [r.source.line, r.messages.map((m) => `${m.role}: ${m.content}`)]);
}

describe('JSON row formats', () => {
  test('Alpaca: instruction + input joined, output as the answer, optional system field', async () => {
    const res = await importDataset([
      textFile(
        'alpaca.jsonl',
        jsonl(
          { instruction: 'Translate to French.', input: 'cat', output: 'chat' },
          { instruction: 'Name a colour.', input: '', output: 'blue' },
          { instruction: 'Be terse.', input: 'hi', output: 'hi', system: 'You are terse.' },
          { instruction: 'No answer', input: 'x' },
        ),
      ),
    ]);
    expect(res.format).toBe('alpaca');
    expect(messagesOf(res.records)).toEqual([
      [1, ['user: Translate to French.\n\ncat', 'assistant: chat']],
      [2, ['user: Name a colour.', 'assistant: blue']],
      [3, ['system: You are terse.', 'user: Be terse.\n\nhi', 'assistant: hi']],
    ]);
    expect(problemKeys(res.problems)).toEqual(['alpaca.jsonl:4 missing_answer']);
  });

  test('text JSONL becomes text records; a non-string text is reported', async () => {
    const res = await importDataset([
      textFile('t.jsonl', jsonl({ text: 'one' }, { text: 'two', id: 7 }, { text: ['x'] })),
    ]);
    expect(res.format).toBe('text');
    expect(res.kind).toBe('text');
    expect(res.records.map((r) => (r.kind === 'text' ? r.text : ''))).toEqual(['one', 'two']);
    expect(problemKeys(res.problems)).toEqual(['t.jsonl:3 non_string_content']);
  });

  test("TRL's conversational prompt/completion (message lists on both sides)", async () => {
    const res = await importDataset([
      textFile(
        'pc.jsonl',
        jsonl(
          { prompt: [{ role: 'user', content: 'Hi?' }], completion: [{ role: 'assistant', content: 'Hello.' }] },
          { prompt: 'Plain?', completion: 'Plain.' },
          { prompt: { role: 'user', content: 'x' }, completion: [{ role: 'assistant', content: 'y' }] },
        ),
      ),
    ]);
    expect(messagesOf(res.records)).toEqual([
      [1, ['user: Hi?', 'assistant: Hello.']],
      [2, ['user: Plain?', 'assistant: Plain.']],
    ]);
    expect(problemKeys(res.problems)).toEqual(['pc.jsonl:3 object_not_array']);
  });

  test('a JSON array with a broken element keeps the others and reports the element line', async () => {
    const text =
      '[\n  {"question": "a", "answer": "1"},\n  {"question": "b", "answer": },\n  {"question": "c", "answer": "3"},\n  "not an object"\n]\n';
    const res = await importDataset([textFile('qa.json', text)]);
    expect(res.format).toBe('pairs');
    expect(messagesOf(res.records)).toEqual([
      [2, ['user: a', 'assistant: 1']],
      [4, ['user: c', 'assistant: 3']],
    ]);
    expect(problemKeys(res.problems)).toEqual(['qa.json:3 invalid_json', 'qa.json:5 not_an_object']);
  });

  test('an unclosed array keeps the elements before the break', async () => {
    const res = await importDataset([textFile('cut.json', '[{"text": "a"},\n {"text": "b"},\n {"text": "c"')]);
    expect(res.records).toHaveLength(2);
    expect(problemKeys(res.problems)).toEqual(['cut.json:3 invalid_json']);
  });

  test('a JSON object where an array belongs names the array inside it', async () => {
    const res = await importDataset([textFile('wrapped.json', JSON.stringify({ data: [{ text: 'a' }] }))]);
    expect(problemKeys(res.problems)).toEqual(['wrapped.json:1 object_not_array']);
    expect(res.problems[0]!.reason).toContain('"data"');
    const messages = await importDataset([textFile('m.jsonl', jsonl({ messages: { role: 'user', content: 'x' } }))]);
    expect(problemKeys(messages.problems)).toEqual(['m.jsonl:1 object_not_array']);
  });

  test('JSON Lines saved as .json are read as JSON Lines', async () => {
    const res = await importDataset([textFile('rows.json', jsonl({ text: 'a' }, { text: 'b' }))]);
    expect(res.records).toHaveLength(2);
    expect(res.sources[0]!.container).toBe('json');
  });
});

describe('overrides', () => {
  const chat = jsonl({
    messages: [
      { role: 'user', content: 'q' },
      { role: 'assistant', content: 'a' },
    ],
  });

  test('forcing a format reports the rows that do not fit it', async () => {
    const res = await importDataset([textFile('c.jsonl', chat)], { format: 'text' });
    expect(res.records).toHaveLength(0);
    expect(problemKeys(res.problems)).toEqual(['c.jsonl:1 wrong_fields']);
  });

  test('forcing raw_text trains on any text file as plain text', async () => {
    const res = await importDataset([textFile('c.jsonl', chat)], { format: 'raw_text' });
    expect(res.format).toBe('raw_text');
    expect(res.records.map((r) => (r.kind === 'text' ? r.text : null))).toEqual([chat]);
  });

  test('unknown fields need a mapping; with one they import', async () => {
    const file = () => textFile('odd.jsonl', jsonl({ src: 'a', tgt: 'b' }));
    const without = await importDataset([file()]);
    expect(problemKeys(without.problems)).toEqual(['odd.jsonl:1 wrong_fields']);
    const withMapping = await importDataset([file()], { mapping: { prompt: ['src'], answer: 'tgt' } });
    expect(messagesOf(withMapping.records)).toEqual([[1, ['user: a', 'assistant: b']]]);
    expect(withMapping.sources[0]!.mapping).toEqual({ prompt: ['src'], answer: 'tgt' });
  });
});

describe('CSV and TSV', () => {
  test('CSV with headers: mapping inferred, quoted multi-line fields, lines of later rows stay right', async () => {
    const csv = 'question,answer\n"What is\nDOT?",A graph language\n\nplain,"with ""quotes"""\nno answer,\n';
    const res = await importDataset([textFile('qa.csv', csv)]);
    expect(res.sources[0]).toMatchObject({
      container: 'csv',
      format: 'pairs',
      mapping: { prompt: ['question'], answer: 'answer' },
    });
    expect(messagesOf(res.records)).toEqual([
      [2, ['user: What is\nDOT?', 'assistant: A graph language']],
      [5, ['user: plain', 'assistant: with "quotes"']],
    ]);
    expect(problemKeys(res.problems)).toEqual(['qa.csv:6 missing_answer']);
  });

  test('TSV with a column mapping, and a row with too many fields', async () => {
    const tsv = 'src\ttgt\textra\nhello\tbonjour\tx\ncat\tchat\ty\tz\n';
    const res = await importDataset([textFile('pairs.tsv', tsv)], { mapping: { prompt: ['src'], answer: 'tgt' } });
    expect(res.sources[0]).toMatchObject({ container: 'tsv', rows: 1 });
    expect(messagesOf(res.records)).toEqual([[2, ['user: hello', 'assistant: bonjour']]]);
    expect(problemKeys(res.problems)).toEqual(['pairs.tsv:3 csv_error']);
  });

  test('prompt/completion columns are recognised', async () => {
    const res = await importDataset([textFile('pc.csv', 'prompt,completion\nQ,A\n')]);
    expect(res.format).toBe('prompt_completion');
    expect(messagesOf(res.records)).toEqual([[2, ['user: Q', 'assistant: A']]]);
  });
});

describe('Parquet', () => {
  test('a table with a column mapping; row numbers as provenance; a null answer is reported', async () => {
    const bytes = new Uint8Array(
      parquetWriteBuffer({
        columnData: [
          { name: 'id', data: [1n, 2n, 3n], type: 'INT64' },
          { name: 'input_text', data: ['a ring of three', 'a chain', 'a star'], type: 'STRING' },
          {
            name: 'output_dot',
            data: ['graph { a -- b -- c -- a }', null, 'graph { c -- a; c -- b }'],
            type: 'STRING',
          },
        ],
      }),
    );
    const res = await importDataset([{ path: 'data/train-00000-of-00001.parquet', bytes }]);
    expect(res.sources[0]).toMatchObject({
      container: 'parquet',
      format: 'pairs',
      presplit: 'train',
      rows: 2,
      mapping: { prompt: ['input_text'], answer: 'output_dot' },
    });
    expect(messagesOf(res.records)).toEqual([
      [1, ['user: a ring of three', 'assistant: graph { a -- b -- c -- a }']],
      [3, ['user: a star', 'assistant: graph { c -- a; c -- b }']],
    ]);
    expect(problemKeys(res.problems)).toEqual(['data/train-00000-of-00001.parquet:2 missing_answer']);
    expect(res.records.every((r) => r.split === 'train')).toBe(true);
  });

  test('a Hugging Face chat column: messages as list<struct<role, content>>', async () => {
    const data = [
      [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'hello' },
      ],
      [{ role: 'user', content: 'no reply' }],
    ];
    const bytes = new Uint8Array(
      parquetWriteBuffer({
        columnData: [{ name: 'messages', data }] as never,
        schema: [
          { name: 'root', num_children: 1 },
          { name: 'messages', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
          { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
          { name: 'element', repetition_type: 'OPTIONAL', num_children: 2 },
          { name: 'role', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
          { name: 'content', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
        ] as never,
      }),
    );
    const res = await importDataset([{ path: 'chat.parquet', bytes }]);
    expect(res.format).toBe('chat');
    expect(messagesOf(res.records)).toEqual([[1, ['user: hi', 'assistant: hello']]]);
    expect(problemKeys(res.problems)).toEqual(['chat.parquet:2 missing_answer']);
  });

  test('bytes that are not Parquet are reported', async () => {
    const res = await importDataset([textFile('fake.parquet', 'PAR1 but not really')]);
    expect(problemKeys(res.problems)).toEqual(['fake.parquet:- parquet_error']);
  });
});

test('unsupported files are reported, hidden and system files skipped', async () => {
  const res = await importDataset([
    textFile('d/a.jsonl', jsonl({ text: 'x' })),
    textFile('d/model.py', 'print(1)'),
    textFile('d/.DS_Store', 'junk'),
    textFile('__MACOSX/d/._a.jsonl', 'junk'),
  ]);
  expect(res.records).toHaveLength(1);
  expect(problemKeys(res.problems)).toEqual(['d/model.py:- unsupported_file']);
  expect(res.skipped.map((s) => s.path).sort()).toEqual(['__MACOSX/d/._a.jsonl', 'd/.DS_Store']);
});
