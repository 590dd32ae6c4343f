/**
 * What transformers.js says a conversation trains on, computed only from its own `apply_chat_template` and
 * tokenizer, at the token level (no character offsets, no markers):
 *   text  `apply_chat_template(messages, { tokenize: false })`;
 *   ids   `apply_chat_template(messages)` token ids (the template writes BOS; no special tokens added);
 *   mask  for each assistant message i, the tokens from the end of the prompt for it (the longest common token
 *         prefix of `ids` and `apply_chat_template(messages[:i], { add_generation_prompt: true })`) through the
 *         first end-of-turn token after it: what the model writes after the prompt, plus its end-of-turn token.
 * A template that refuses a system role (Gemma 1/2) is judged by Gemma 3's template, which folds the system turn
 * into the first user turn itself. `pythonText` replaces the rendered text where transformers.js is known to
 * render differently from Python transformers (the ids and mask then follow that text).
 */
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import type { Message } from '../../../src/schema/dataset.ts';
import { encodeChat } from '../../../src/data/mask.ts';
import type { LoadedModel } from './models.ts';

export interface Reference {
  text: string;
  ids: number[];
  mask: number[];
}

type Chat = { role: string; content: string }[];

function render(ref: PreTrainedTokenizer, messages: Chat, template: string | null, generation = false): string {
  return ref.apply_chat_template(messages, {
    tokenize: false,
    add_generation_prompt: generation,
    chat_template: template,
  }) as unknown as string;
}

function encode(ref: PreTrainedTokenizer, text: string): number[] {
  return ref.encode(text, { add_special_tokens: false });
}

export function referenceChat(loaded: LoadedModel, messages: Message[], pythonText?: string): Reference {
  const { ref, model } = loaded;
  const template = messages[0]?.role === 'system' ? loaded.foldTemplate : null;
  const chat: Chat = messages.map((m) => ({ role: m.role, content: m.content }));
  const text = pythonText ?? render(ref, chat, template);
  const ids = encode(ref, text);
  if (pythonText === undefined) {
    const direct = ref.apply_chat_template(chat, {
      return_tensor: false,
      return_dict: false,
      chat_template: template,
    }) as unknown as number[];
    if (direct.join() !== ids.join()) throw new Error('apply_chat_template ids differ from encoding its text');
  }
  const eotId = ref.convert_tokens_to_ids(model.eot) as number;
  const mask = new Array<number>(ids.length).fill(0);
  messages.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    const prompt = encode(ref, render(ref, chat.slice(0, i), template, true));
    let start = 0;
    while (start < prompt.length && prompt[start] === ids[start]) start++;
    // Only the prompt's last token may merge with the answer's first characters.
    if (start < prompt.length - 1) throw new Error(`the prompt for message ${i + 1} is not a prefix of the render`);
    const end = ids.indexOf(eotId, start);
    if (end < 0) throw new Error(`no ${model.eot} after message ${i + 1}`);
    for (let t = start; t <= end; t++) mask[t] = 1;
  });
  return { text, ids, mask };
}

export interface Comparison {
  text: boolean;
  ids: boolean;
  mask: boolean;
  /** BOS exactly once, first, for templates that write one; never for those that do not. */
  bos: boolean;
}

/** Our import's encoding of a conversation against the reference. */
export function compareChat(loaded: LoadedModel, messages: Message[], pythonText?: string): Comparison {
  const expected = referenceChat(loaded, messages, pythonText);
  const ours = encodeChat(loaded.ours, messages, 'answers');
  const bosId = loaded.model.bos === null ? null : loaded.ours.tokenizer.token_to_id(loaded.model.bos);
  const bosCount = bosId === null ? 0 : ours.ids.filter((id) => id === bosId).length;
  return {
    text: ours.text === expected.text,
    ids: ours.ids.join() === expected.ids.join(),
    mask: Array.from(ours.mask).join() === expected.mask.join(),
    bos: bosId === null ? true : bosCount === 1 && ours.ids[0] === bosId,
  };
}

/** Counts of mismatches over many comparisons, with the first few failing labels for the message. */
export class Tally {
  compared = 0;
  readonly mismatches = { text: 0, ids: 0, mask: 0, bos: 0 };
  readonly failures: string[] = [];

  add(label: string, c: Comparison): void {
    this.compared++;
    const bad = (Object.keys(this.mismatches) as (keyof Comparison)[]).filter((k) => !c[k]);
    for (const k of bad) this.mismatches[k]++;
    if (bad.length > 0 && this.failures.length < 10) this.failures.push(`${label}: ${bad.join(', ')}`);
  }

  get total(): number {
    return this.mismatches.text + this.mismatches.ids + this.mismatches.mask + this.mismatches.bos;
  }
}
