/**
 * Token counts with the model's tokenizer and chat template, the over-length policy (drop or
 * truncate, counted and reported), the length histogram, and loading tokenizers from a folder.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { pickChatTemplate } from '../../../src/data/chat-template.ts';
import { importDataset } from '../../../src/data/import.ts';
import { encodeChat } from '../../../src/data/mask.ts';
import { tokenizerFromDir } from '../../../src/data/node-files.ts';
import { applyLengthPolicy, histogram, trainingExample } from '../../../src/data/tokenize.ts';
import { ModelTokenizer } from '../../../src/data/tokenizer.ts';
import { buildFixtureTokenizer } from '../../fixtures/tokenizer.ts';
import { fixtureTokenizer, problemKeys, textFile } from './helpers.ts';

const row = (user: string, answer: string) =>
  JSON.stringify({
    messages: [
      { role: 'user', content: user },
      { role: 'assistant', content: answer },
    ],
  });

describe('over-length rows', () => {
  const tok = fixtureTokenizer('chatml');
  const short = row('Say hi.', 'Hi.');
  const long = row('Explain gradient descent.', 'It moves parameters against the gradient. '.repeat(20));
  const longPrompt = row('Explain gradient descent. '.repeat(40), 'Short.');
  const lengthOf = (r: string) =>
    encodeChat(tok, (JSON.parse(r) as { messages: never }).messages, 'answers').ids.length;

  test('drop: rows over the maximum are removed, counted and listed', async () => {
    const maxLength = lengthOf(short) + 10;
    expect(lengthOf(long)).toBeGreaterThan(maxLength);
    const res = await importDataset(
      [textFile('d.jsonl', [short, long, short.replace('hi', 'ho')].join('\n'))],
      { maxLength, overLength: 'drop' },
      { tokenizer: tok },
    );
    expect(res.counts).toMatchObject({ records: 2, droppedTooLong: 1, truncated: 0 });
    expect(res.dropped).toEqual([{ source: { file: 'd.jsonl', line: 2 }, reason: `longer than ${maxLength} tokens` }]);
    expect(res.tokens).toMatchObject({ records: 3, overLength: 1, dropped: 1, truncated: 0, max: lengthOf(long) });
    expect(res.tokens!.histogram.counts.reduce((a, b) => a + b, 0)).toBe(3);
  });

  test('truncate: rows are kept and cut at encoding time; a row with no answer left is dropped', async () => {
    const maxLength = 120;
    expect(lengthOf(long)).toBeGreaterThan(maxLength);
    const res = await importDataset(
      [textFile('d.jsonl', [short, long, longPrompt].join('\n'))],
      { maxLength, overLength: 'truncate' },
      { tokenizer: tok },
    );
    expect(res.counts).toMatchObject({ records: 2, truncated: 1, noTrainedTokens: 1, droppedTooLong: 0 });
    expect(res.dropped.map((d) => d.source.line)).toEqual([3]);
    const stored = res.records.find((r) => r.source.line === 2)!;
    const example = trainingExample(tok, stored, res.settings)!;
    expect(example.ids).toHaveLength(maxLength);
    expect(example.mask.some((m) => m === 1)).toBe(true);
    expect(res.tokens!.totalTokens).toBe(lengthOf(short) + maxLength);
  });

  test('applyLengthPolicy', () => {
    const ex = { ids: [1, 2, 3, 4], mask: Uint8Array.of(0, 0, 1, 1) };
    expect(applyLengthPolicy(ex, 4, 'drop').kind).toBe('ok');
    expect(applyLengthPolicy(ex, 3, 'drop')).toEqual({ kind: 'dropped', reason: 'too_long', length: 4 });
    expect(applyLengthPolicy(ex, 3, 'truncate')).toMatchObject({
      kind: 'truncated',
      originalLength: 4,
      example: { ids: [1, 2, 3] },
    });
    expect(applyLengthPolicy(ex, 2, 'truncate')).toEqual({ kind: 'dropped', reason: 'no_trained_tokens', length: 4 });
  });
});

test('the histogram covers the maximum length in 20 bins', () => {
  const h = histogram([1, 5, 99, 100, 250], 100);
  expect(h.binWidth).toBe(13);
  expect(h.counts).toHaveLength(20);
  expect(h.counts.reduce((a, b) => a + b, 0)).toBe(5);
  expect(h.counts[0]).toBe(2);
  expect(h.counts[19]).toBe(1);
});

test('token statistics count trained tokens under the mask mode', async () => {
  const tok = fixtureTokenizer('llama3');
  const file = () => textFile('d.jsonl', `${row('Question one?', 'Answer one.')}\n`);
  const answers = await importDataset([file()], {}, { tokenizer: tok });
  const all = await importDataset([file()], { mask: 'all' }, { tokenizer: tok });
  expect(all.tokens!.trainedTokens).toBe(all.tokens!.totalTokens);
  expect(answers.tokens!.totalTokens).toBe(all.tokens!.totalTokens);
  const enc = encodeChat(
    tok,
    [
      { role: 'user', content: 'Question one?' },
      { role: 'assistant', content: 'Answer one.' },
    ],
    'answers',
  );
  expect(answers.tokens!.trainedTokens).toBe(enc.mask.reduce((a, b) => a + b, 0));
  expect(answers.tokens!.trainedTokens).toBe(tok.encode('Answer one.<|eot_id|>').length);
});

test('rows the chat template refuses are reported with their line', async () => {
  const tok = fixtureTokenizer('gemma');
  const bad = JSON.stringify({
    messages: [
      { role: 'assistant', content: 'first' },
      { role: 'user', content: 'then' },
      { role: 'assistant', content: 'x' },
    ],
  });
  const res = await importDataset([textFile('g.jsonl', `${row('Hi', 'Hello')}\n${bad}\n`)], {}, { tokenizer: tok });
  expect(res.counts.records).toBe(1);
  expect(problemKeys(res.problems)).toEqual(['g.jsonl:2 template_error']);
  expect(res.problems[0]!.reason).toMatch(/alternate/);
});

describe('loading a tokenizer', () => {
  test('from a model folder, with the chat template in tokenizer_config.json or chat_template.jinja', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tok-'));
    const files = buildFixtureTokenizer('llama3');
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizer));
    await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...files.config, chat_template: undefined }));
    const noTemplate = await tokenizerFromDir(dir);
    expect(noTemplate.template).toBeNull();
    expect(() => noTemplate.renderChat([{ role: 'user', content: 'x' }])).toThrow(/no chat template/);
    await writeFile(join(dir, 'chat_template.jinja'), files.config.chat_template as string);
    const tok = await tokenizerFromDir(dir);
    expect(tok.renderChat([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true })).toBe(
      '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    );
    expect(tok.specialTokens).toMatchObject({ bos_token: '<|begin_of_text|>', eos_token: '<|eot_id|>' });
    expect(tok.eosTokenId).toBe(tok.tokenizer.token_to_id('<|eot_id|>'));
  });

  test('chat_template as a list of named templates, or as chat_template.json', () => {
    expect(
      pickChatTemplate([
        { name: 'tool_use', template: 'T' },
        { name: 'default', template: 'D' },
      ]),
    ).toBe('D');
    expect(pickChatTemplate('inline', JSON.stringify({ chat_template: 'from json' }))).toBe('from json');
    expect(pickChatTemplate('inline', '{% for m in messages %}{{ m.content }}{% endfor %}')).toBe(
      '{% for m in messages %}{{ m.content }}{% endfor %}',
    );
    expect(pickChatTemplate(undefined)).toBeNull();
  });

  test('special tokens written as objects in tokenizer_config.json', () => {
    const files = buildFixtureTokenizer('gemma');
    const tok = new ModelTokenizer({
      tokenizer: files.tokenizer,
      config: { ...files.config, bos_token: { content: '<bos>', special: true }, eos_token: { content: '<eos>' } },
    });
    expect(tok.bosTokenId).toBe(2);
    expect(tok.eosTokenId).toBe(1);
    expect(tok.renderChat([{ role: 'user', content: 'x' }]).startsWith('<bos><start_of_turn>user\nx')).toBe(true);
  });
});
