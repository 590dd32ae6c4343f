/**
 * Loss masks computed on token ids of the rendered chat template: the trained tokens are exactly
 * each assistant turn's content plus its end-of-turn token, for ChatML (Qwen2.5), Llama 3 and
 * Gemma templates, on real tokenizer.json files (byte-level BPE and SentencePiece-style BPE).
 */
import { describe, expect, test } from 'vitest';
import { encodeChat, encodeText } from '../../../src/data/mask.ts';
import type { ModelTokenizer } from '../../../src/data/tokenizer.ts';
import type { Message } from '../../../src/schema/dataset.ts';
import type { FixtureTemplate } from '../../fixtures/tokenizer.ts';
import { fixtureTokenizer } from './helpers.ts';

/** The trained tokens as contiguous runs, each decoded to text. */
function trainedRuns(tok: ModelTokenizer, ids: number[], mask: Uint8Array): string[] {
  const runs: number[][] = [];
  let current: number[] | null = null;
  ids.forEach((id, i) => {
    if (mask[i]) {
      current ??= [];
      current.push(id);
    } else if (current) {
      runs.push(current);
      current = null;
    }
  });
  if (current) runs.push(current);
  return runs.map((r) => tok.decode(r));
}

const EOT: Record<FixtureTemplate, string> = { chatml: '<|im_end|>', llama3: '<|eot_id|>', gemma: '<end_of_turn>' };

const conversation: Message[] = [
  { role: 'user', content: 'What is the capital of France?' },
  { role: 'assistant', content: 'Paris is the capital of France.' },
  { role: 'user', content: 'Say hi in German: Grüße, and a smile 😀' },
  { role: 'assistant', content: 'Hallo! Grüße 😀\n\n#const n=6.\nrow(1..n).' },
];

describe.each(['chatml', 'llama3', 'gemma'] as const)('%s template', (template) => {
  const tok = fixtureTokenizer(template);
  const eot = EOT[template];

  test('answers: the trained tokens are exactly every assistant content + its end-of-turn token', () => {
    const enc = encodeChat(tok, conversation, 'answers');
    expect(enc.strategy).toBe('offsets');
    expect(enc.ids).toEqual(tok.encode(enc.text, false));
    expect(trainedRuns(tok, enc.ids, enc.mask)).toEqual([
      `${conversation[1]!.content}${eot}`,
      `${conversation[3]!.content}${eot}`,
    ]);
    // the end-of-turn token itself is one trained id, and the token before each run is not trained
    const eotId = tok.tokenizer.token_to_id(eot)!;
    expect(enc.ids.filter((id, i) => id === eotId && enc.mask[i] === 1)).toHaveLength(2);
    // user turns (and Qwen's default system turn) end with the same token, untrained
    expect(enc.ids.filter((id, i) => id === eotId && enc.mask[i] === 0)).toHaveLength(template === 'chatml' ? 3 : 2);
  });

  test('last: only the final assistant turn is trained', () => {
    const enc = encodeChat(tok, conversation, 'last');
    expect(trainedRuns(tok, enc.ids, enc.mask)).toEqual([`${conversation[3]!.content}${eot}`]);
  });

  test('all: every token is trained', () => {
    const enc = encodeChat(tok, conversation, 'all');
    expect(enc.mask.every((m) => m === 1)).toBe(true);
    expect(tok.decode(enc.ids)).toBe(enc.text);
  });

  test('the span-by-span fallback gives the same trained text', () => {
    const whole = encodeChat(tok, conversation, 'answers');
    const pieces = encodeChat(tok, conversation, 'answers', { strategy: 'segments' });
    expect(pieces.strategy).toBe('segments');
    expect(trainedRuns(tok, pieces.ids, pieces.mask)).toEqual(trainedRuns(tok, whole.ids, whole.mask));
  });

  test('content with surrounding whitespace: the mask follows what the template renders', () => {
    const enc = encodeChat(
      tok,
      [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: '  spaced answer \n' },
      ],
      'answers',
    );
    // Llama 3 and Gemma trim message content; Qwen's ChatML keeps it verbatim.
    const rendered = template === 'chatml' ? '  spaced answer \n' : 'spaced answer';
    expect(trainedRuns(tok, enc.ids, enc.mask)).toEqual([`${rendered}${eot}`]);
  });
});

describe('templates and system prompts', () => {
  const withSystem: Message[] = [{ role: 'system', content: 'You are an expert.' }, ...conversation.slice(0, 2)];

  test('ChatML adds its default system prompt when there is none, and it is not trained', () => {
    const tok = fixtureTokenizer('chatml');
    const enc = encodeChat(tok, conversation.slice(0, 2), 'answers');
    expect(enc.text.startsWith('<|im_start|>system\nYou are Qwen, created by Alibaba Cloud.')).toBe(true);
    expect(trainedRuns(tok, enc.ids, enc.mask)).toEqual(['Paris is the capital of France.<|im_end|>']);
  });

  test('Llama 3 starts with <|begin_of_text|> once, and keeps the system turn', () => {
    const tok = fixtureTokenizer('llama3');
    const enc = encodeChat(tok, withSystem, 'answers');
    expect(enc.ids[0]).toBe(tok.bosTokenId);
    expect(enc.ids.filter((id) => id === tok.bosTokenId)).toHaveLength(1);
    expect(enc.text).toContain('<|start_header_id|>system<|end_header_id|>\n\nYou are an expert.<|eot_id|>');
    expect(trainedRuns(tok, enc.ids, enc.mask)).toEqual(['Paris is the capital of France.<|eot_id|>']);
  });

  test('Gemma refuses a system turn: it is folded into the first user turn, untrained', () => {
    const tok = fixtureTokenizer('gemma');
    expect(() => tok.renderChat(withSystem)).toThrow(/System role not supported/);
    const enc = encodeChat(tok, withSystem, 'answers');
    expect(enc.systemFolded).toBe(true);
    expect(enc.text).toBe(
      '<bos><start_of_turn>user\nYou are an expert.\n\nWhat is the capital of France?<end_of_turn>\n' +
        '<start_of_turn>model\nParis is the capital of France.<end_of_turn>\n',
    );
    expect(trainedRuns(tok, enc.ids, enc.mask)).toEqual(['Paris is the capital of France.<end_of_turn>']);
  });

  test('a template error that folding cannot fix is reported', () => {
    const tok = fixtureTokenizer('gemma');
    const bad: Message[] = [
      { role: 'user', content: 'a' },
      { role: 'user', content: 'b' },
      { role: 'assistant', content: 'c' },
    ];
    expect(() => encodeChat(tok, bad, 'answers')).toThrow(/roles must alternate/);
  });

  test('assistant text that also appears in the prompt and headers is located by position, not by search', () => {
    const tok = fixtureTokenizer('chatml');
    const echo: Message[] = [
      { role: 'system', content: 'assistant' },
      { role: 'user', content: 'assistant' },
      { role: 'assistant', content: 'assistant' },
    ];
    const enc = encodeChat(tok, echo, 'answers');
    expect(enc.assistantSpans).toHaveLength(1);
    expect(enc.text.slice(enc.assistantSpans[0]!.start, enc.assistantSpans[0]!.end)).toBe('assistant<|im_end|>');
    expect(enc.assistantSpans[0]!.start).toBe(enc.text.lastIndexOf('assistant<|im_end|>'));
  });
});

test('raw text is all trained, with BOS (from the post-processor) and EOS', () => {
  const tok = fixtureTokenizer('llama3');
  const enc = encodeText(tok, 'Small teams rarely have a data center.');
  expect(enc.ids[0]).toBe(tok.bosTokenId);
  expect(enc.ids[enc.ids.length - 1]).toBe(tok.eosTokenId);
  expect(enc.mask.every((m) => m === 1)).toBe(true);
  expect(tok.decode(enc.ids.slice(1, -1))).toBe('Small teams rarely have a data center.');
});
