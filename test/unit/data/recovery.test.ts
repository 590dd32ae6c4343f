/**
 * JSON arrays and CSV recover at the next record: a broken record is reported at its first line
 * and the records after it are kept (unterminated strings, missing commas, garbage between records,
 * nested objects that must not pass for records, unclosed and stray CSV quotes).
 */
import { describe, expect, test } from 'vitest';
import { importDataset } from '../../../src/data/import.ts';
import { scanJsonArray } from '../../../src/data/json-array.ts';
import { problemKeys, textFile } from './helpers.ts';

const pc = (i: number) => JSON.stringify({ prompt: `q${i}`, completion: `a${i}` });
const chat = (i: number) =>
  JSON.stringify({
    messages: [
      { role: 'system', content: `s${i}` },
      { role: 'user', content: `u${i}` },
      { role: 'assistant', content: `a${i}` },
    ],
  });
const lines = (r: Awaited<ReturnType<typeof importDataset>>) => r.records.map((x) => x.source.line);
const prompts = (r: Awaited<ReturnType<typeof importDataset>>) =>
  r.records.map((x) => (x.kind === 'chat' ? x.messages.find((m) => m.role === 'user')!.content : x.text));

describe('JSON arrays', () => {
  test('one line: an unterminated string drops its record only', async () => {
    const items = [1, 2, 3, 4, 5].map((i) => (i === 2 ? '{"prompt": "q2, "completion": "a2"}' : pc(i)));
    const res = await importDataset([textFile('a.json', `[${items.join(',')}]`)]);
    expect(prompts(res)).toEqual(['q1', 'q3', 'q4', 'q5']);
    expect(problemKeys(res.problems)).toEqual(['a.json:1 invalid_json']);
  });

  test('one record per line: a missing comma and garbage between records are reported, no record lost', async () => {
    const text = `[\n${pc(1)},\n${pc(2)}\n${pc(3)},\nnot json at all,\n${pc(5)},\n{"prompt": "q6", "completion": }\n,${pc(7)}\n]`;
    const res = await importDataset([textFile('b.json', text)]);
    expect(lines(res)).toEqual([2, 3, 4, 6, 8]);
    expect(problemKeys(res.problems)).toEqual([
      'b.json:4 invalid_json',
      'b.json:5 invalid_json',
      'b.json:7 invalid_json',
    ]);
    expect(res.problems.find((p) => p.line === 7)!.reason).toMatch(/^invalid JSON: /);
  });

  test('nested message objects do not pass for records when a chat record is broken', async () => {
    const broken = chat(2).replace('"u2"', '"u2');
    const res = await importDataset([textFile('c.json', `[${[chat(1), broken, chat(3), chat(4)].join(', ')}]`)]);
    expect(prompts(res)).toEqual(['u1', 'u3', 'u4']);
    expect(problemKeys(res.problems)).toEqual(['c.json:1 invalid_json']);
  });

  test('pretty-printed: a broken first record; the rest are read, the problem says where reading resumed', async () => {
    const pretty = (s: string) => JSON.stringify(JSON.parse(s), null, 2);
    const first = pretty(chat(1)).replace('"u1"', '"u1');
    const text = `[\n${[first, pretty(chat(2)), pretty(chat(3))].join(',\n')}\n]\n`;
    const res = await importDataset([textFile('d.json', text)]);
    expect(prompts(res)).toEqual(['u2', 'u3']);
    expect(problemKeys(res.problems)).toEqual(['d.json:2 invalid_json']);
    expect(res.problems[0]!.reason).toMatch(/lines 2-\d+ were left out, reading resumed at line \d+/);
  });

  test('blank lines before the next record (a CR that became a line break inside a string)', async () => {
    const text = `[\n${pc(1)},\n{"prompt": "q2 \r\r\r", "completion": "a2"},\n\n\n  ${pc(3)}\n]`;
    const res = await importDataset([textFile('j.json', text)]);
    expect(prompts(res)).toEqual(['q1', 'q3']);
    expect(problemKeys(res.problems)).toEqual(['j.json:3 invalid_json']);
  });

  test('an array that is never closed, and text after the closing bracket', async () => {
    const open = await importDataset([textFile('e.json', `[${pc(1)}, ${pc(2)}`)]);
    expect(prompts(open)).toEqual(['q1', 'q2']);
    expect(open.problems.map((p) => p.reason)).toEqual([
      'invalid JSON: the array is not closed with "]" (is the file cut short?)',
    ]);
    const after = await importDataset([textFile('f.json', `[${pc(1)}]\n[${pc(2)}]\n`)]);
    expect(prompts(after)).toEqual(['q1', 'q2']);
    expect(problemKeys(after.problems)).toEqual(['f.json:2 invalid_json']);
  });

  test('the resumption search stays bounded on a file of broken records', () => {
    const text = `[${'{"a": "x, '.repeat(20000)}]`;
    const scan = scanJsonArray(text);
    expect(scan.elements).toEqual([]);
    expect(scan.errors.length).toBeGreaterThan(0);
    expect(scan.errors.at(-1)!.resumeAt).toBeNull();
  });
});

describe('CSV', () => {
  test('a quote that closes far away: the swallowed lines are read again', async () => {
    const text = 'prompt,completion\nq1,a1\n"q2,a2\nq3,a3\nq4,a4\nq5,"a5\nq6,a6\n';
    const res = await importDataset([textFile('g.csv', text)]);
    expect(lines(res)).toEqual([2, 4, 5, 7]);
    expect(problemKeys(res.problems)).toEqual(['g.csv:3 csv_error', 'g.csv:6 csv_error']);
  });

  test('a stray quote on one line, too many fields, and a legitimate multi-line field', async () => {
    const text = 'prompt,completion\n"q1"x,a1\nq2,a2,extra\n"q3\nline two",a3\nq4,a4\n';
    const res = await importDataset([textFile('h.csv', text)]);
    expect(lines(res)).toEqual([4, 6]);
    expect(prompts(res)).toEqual(['q3\nline two', 'q4']);
    expect(problemKeys(res.problems)).toEqual(['h.csv:2 csv_error', 'h.csv:3 csv_error']);
  });

  test('UTF-8 BOM with CRLF, semicolon delimiter guessed, a column named __proto__ stays data', async () => {
    const text = '\uFEFFprompt;completion;__proto__\r\nq1;a1;x\r\nq2;a2;y\r\n';
    const res = await importDataset([textFile('i.csv', text)]);
    expect(prompts(res)).toEqual(['q1', 'q2']);
    expect(res.sources[0]).toMatchObject({ encoding: 'utf-8-bom', rows: 2 });
  });
});
