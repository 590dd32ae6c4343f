/**
 * A chat template that renders no answer (empty, or one that leaves out assistant messages) gives
 * rows with no trained token: they are reported one by one, and a dataset with no trainable row is
 * refused with a message that says why, instead of keeping every row with 0 trained tokens.
 */
import { describe, expect, test } from 'vitest';
import { importDataset } from '../../../src/data/import.ts';
import { ModelTokenizer } from '../../../src/data/tokenizer.ts';
import { buildFixtureTokenizer } from '../../fixtures/tokenizer.ts';
import { fixtureTokenizer, problemKeys, textFile } from './helpers.ts';

function withTemplate(template: string): ModelTokenizer {
  const files = buildFixtureTokenizer('chatml');
  return new ModelTokenizer({ ...files, config: { ...files.config, chat_template: template } });
}

const chat = (user: string, answer: string) =>
  JSON.stringify({
    messages: [
      { role: 'user', content: user },
      { role: 'assistant', content: answer },
    ],
  });
const rows = [chat('One?', 'Yes.'), chat('Two?', 'No.'), chat('Three?', 'Maybe.')].join('\n');

test('a template that fails on every row: each problem names the template file', async () => {
  const files = buildFixtureTokenizer('chatml');
  const tok = new ModelTokenizer({
    ...files,
    chatTemplate:
      "{% for m in messages %}{{ m.content }}{% if m.role == 'assistant' %}{{ raise_exception('no answers here') }}{% endif %}{% endfor %}",
    chatTemplateFile: 'chat_template.jinja',
  });
  const res = await importDataset([textFile('chat.jsonl', rows)], {}, { tokenizer: tok });
  expect(res.records).toEqual([]);
  expect(res.problems).toHaveLength(3);
  for (const p of res.problems) expect(p.reason).toMatch(/^chat template \(chat_template\.jinja\): .*no answers here/);
});

describe('rows with no token to train on', () => {
  for (const [name, template] of [
    ['an empty chat template', ''],
    [
      'a template that leaves out assistant messages',
      "{% for m in messages %}{% if m.role == 'user' %}<|im_start|>user\n{{ m.content }}<|im_end|>\n{% endif %}{% endfor %}",
    ],
  ] as const) {
    test(`${name}: each row is reported and the dataset is refused`, async () => {
      const res = await importDataset([textFile('chat.jsonl', rows)], {}, { tokenizer: withTemplate(template) });
      expect(problemKeys(res.problems)).toEqual([
        'chat.jsonl:1 no_trained_tokens',
        'chat.jsonl:2 no_trained_tokens',
        'chat.jsonl:3 no_trained_tokens',
      ]);
      expect(res.records).toEqual([]);
      expect(res.counts).toMatchObject({ rowsRead: 3, records: 0, untrainable: 3 });
      expect(res.refusal).toMatch(
        /none of the 3 rows has a token to train on: the model's chat template \(tokenizer_config\.json chat_template\) renders no/,
      );
    });
  }

  test('a working template keeps every row and refuses nothing', async () => {
    const res = await importDataset([textFile('chat.jsonl', rows)], {}, { tokenizer: fixtureTokenizer('chatml') });
    expect(res.counts).toMatchObject({ records: 3, untrainable: 0, problems: 0 });
    expect(res.refusal).toBeNull();
    expect(res.tokens!.trainedTokens).toBeGreaterThan(0);
  });

  test('raw text is always trainable; a file with no rows is refused with its own reason', async () => {
    const text = await importDataset([textFile('t.md', 'Some text.\n')], {}, { tokenizer: withTemplate('') });
    expect(text.counts).toMatchObject({ records: 1, untrainable: 0 });
    const none = await importDataset([textFile('bad.jsonl', '{oops\n')]);
    expect(none.refusal).toMatch(/no row could be read from these files/);
  });
});
