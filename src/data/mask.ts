/**
 * Loss masks from the rendered chat template.
 *
 * 1. Render the conversation (folding a system turn the template refuses, chat-template.ts).
 * 2. Locate each assistant turn by rendering prefixes of the conversation, never by replacing or
 *    searching for its content (templates branch on content: Qwen3 rewrites `<think>…</think>`):
 *    - it starts where the prompt for it ends: the render of the messages before it with the
 *      generation prompt, which must be a prefix of the whole render;
 *    - it ends with the end-of-turn token: the first special token the template writes after that
 *      prompt when the turn is the last message (an answer that spells it is reported). Where the render up
 *      to this turn is a prefix of the whole render, that is its position; where it is not (Qwen3
 *      drops the reasoning of earlier turns), it is the first occurrence of that token after the start.
 *    The trained span is what the model writes after the generation prompt, through the end-of-turn
 *    token: the answer as the template renders it (trimmed by Llama 3 and Gemma, with its
 *    `<think>` block for Qwen3's last turn) plus `<|im_end|>` / `<|eot_id|>` / `<end_of_turn>`.
 * 3. Tokenize the whole render; a token is trained when its bytes overlap a trained span.
 *    Token byte ranges come from aligning token bytes with the text (token-bytes.ts); when that is
 *    impossible the render is tokenized span by span instead, which keeps the mask exact.
 */
import type { MaskMode, Message } from '../schema/dataset.ts';
import { ChatTemplateError } from './chat-template.ts';
import { utf8Offsets } from './token-bytes.ts';
import type { ModelTokenizer } from './tokenizer.ts';

export interface Span {
  start: number;
  end: number;
}

export interface EncodedExample {
  ids: number[];
  /** 1 where the token is trained (its loss counts), 0 elsewhere. */
  mask: Uint8Array;
}

export interface EncodedChat extends EncodedExample {
  /** The rendered conversation. */
  text: string;
  /** Character spans of each assistant turn (what the model writes after the prompt + end-of-turn token), in order. */
  assistantSpans: Span[];
  /** The spans that are trained under the mask mode. */
  trainedSpans: Span[];
  /** 'offsets': whole-text tokenization; 'segments': tokenized span by span (fallback). */
  strategy: 'offsets' | 'segments';
  /** True when a system turn was folded into the first user turn for a template that refuses it. */
  systemFolded: boolean;
}

/** Every special token in `text`, in order, with its end (exclusive). */
function specialTokensIn(tok: ModelTokenizer, text: string): { end: number; content: string }[] {
  const found: { end: number; content: string }[] = [];
  const firsts = new Set(tok.specialAdded.map((t) => t.content[0]));
  for (let i = 0; i < text.length; i++) {
    if (!firsts.has(text[i])) continue;
    const special = tok.specialTokenAt(text, i);
    if (!special || special.content.length === 0) continue;
    found.push({ end: i + special.content.length, content: special.content });
    i += special.content.length - 1;
  }
  return found;
}

const occurrences = (text: string, part: string) => text.split(part).length - 1;

/**
 * The end-of-turn token of an answer rendered as the last turn (`turn`: the text after the prompt): the first
 * special token the template writes there, i.e. one the answer's own text does not account for. An answer that
 * spells that very token cannot be told apart from it and is reported.
 */
function endOfTurn(
  tok: ModelTokenizer,
  turn: string,
  content: string,
  where: string,
): { end: number; content: string } | undefined {
  const specials = specialTokensIn(tok, turn);
  const written = specials.find((t) => occurrences(turn, t.content) > occurrences(content, t.content));
  if (written && content.includes(written.content))
    throw new ChatTemplateError(
      `${where}: the answer contains ${written.content}, the special token the chat template ends it with; remove it`,
    );
  return written;
}

/** Character span of every assistant turn of `messages` in `text` (their full render), in order. */
export function assistantTurnSpans(tok: ModelTokenizer, text: string, messages: Message[]): Span[] {
  const spans: Span[] = [];
  messages.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    const where = `message ${i + 1} (an answer)`;
    const prompt = tok.renderChat(messages.slice(0, i), { addGenerationPrompt: true });
    if (!text.startsWith(prompt))
      throw new ChatTemplateError(
        `${where}: the chat template's prompt for it differs from how it renders the conversation, so the answer cannot be located`,
      );
    const start = prompt.length;
    const upTo = tok.renderChat(messages.slice(0, i + 1));
    if (!upTo.startsWith(prompt))
      throw new ChatTemplateError(`${where}: the chat template renders the answer in a way the masker cannot follow`);
    const turn = upTo.slice(start);
    const eot = endOfTurn(tok, turn, m.content, where);
    if (text.startsWith(upTo)) {
      spans.push({ start, end: start + (eot ? eot.end : turn.trimEnd().length) });
      return;
    }
    // The template renders this turn differently once later messages follow (Qwen3 drops earlier reasoning).
    if (!eot) throw new ChatTemplateError(`${where}: the chat template ends the answer without an end-of-turn token`);
    const at = text.indexOf(eot.content, start);
    if (at < 0) throw new ChatTemplateError(`${where}: its end-of-turn token is missing from the rendered template`);
    spans.push({ start, end: at + eot.content.length });
  });
  return spans;
}

/** Encodes a conversation and computes its loss mask. Throws ChatTemplateError for unusable templates. */
export function encodeChat(
  tok: ModelTokenizer,
  messages: Message[],
  mode: MaskMode,
  opts: { strategy?: 'offsets' | 'segments' } = {},
): EncodedChat {
  const rendered = tok.renderChatFolded(messages);
  const text = rendered.text;
  const assistantSpans = assistantTurnSpans(tok, text, rendered.messages);
  const trainedSpans =
    mode === 'all' ? [{ start: 0, end: text.length }] : mode === 'last' ? assistantSpans.slice(-1) : assistantSpans;
  const base = { text, assistantSpans, trainedSpans, systemFolded: rendered.systemFolded };
  if (opts.strategy !== 'segments') {
    const ids = tok.encode(text, false);
    const offsets = tok.byteOffsets(ids, text);
    if (offsets) {
      const bounds = utf8Offsets(
        text,
        trainedSpans.flatMap((s) => [s.start, s.end]),
      );
      const byteSpans = trainedSpans.map((s) => ({ start: bounds.get(s.start)!, end: bounds.get(s.end)! }));
      const mask = new Uint8Array(ids.length);
      for (let t = 0; t < ids.length; t++) {
        const a = offsets.starts[t]!;
        const b = offsets.ends[t]!;
        if (byteSpans.some((s) => a < s.end && b > s.start)) mask[t] = 1;
      }
      return { ...base, ids, mask, strategy: 'offsets' };
    }
  }
  return { ...base, ...encodeBySegments(tok, text, trainedSpans), strategy: 'segments' };
}

/** Tokenizes text piece by piece at the span boundaries; tokens of a trained piece are trained. */
function encodeBySegments(tok: ModelTokenizer, text: string, trained: Span[]): EncodedExample {
  const cuts = [...new Set([0, text.length, ...trained.flatMap((s) => [s.start, s.end])])].sort((a, b) => a - b);
  const ids: number[] = [];
  const flags: number[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const a = cuts[i]!;
    const b = cuts[i + 1]!;
    const inside = trained.some((s) => a >= s.start && b <= s.end);
    for (const id of tok.encode(text.slice(a, b), false)) {
      ids.push(id);
      flags.push(inside ? 1 : 0);
    }
  }
  return { ids, mask: Uint8Array.from(flags) };
}

/** Raw text: every token is trained; BOS (from the post-processor) and EOS are added as mlx-lm does. */
export function encodeText(tok: ModelTokenizer, text: string): EncodedExample {
  const ids = tok.encode(text, true);
  if (tok.eosTokenId !== null && ids[ids.length - 1] !== tok.eosTokenId) ids.push(tok.eosTokenId);
  return { ids, mask: new Uint8Array(ids.length).fill(1) };
}
