/**
 * Loss masks from the rendered chat template.
 *
 * 1. Render the conversation twice: once with each message's content replaced by a unique marker,
 *    once for real. The markers give the template's fixed text around every message; walking the
 *    real render with it gives each message's exact character span, even when the template trims
 *    content (Llama 3, Gemma) or adds text of its own (Qwen's default system prompt).
 * 2. A trained span is an assistant message's content plus the special token that directly
 *    follows it (the end-of-turn token: <|im_end|>, <|eot_id|>, <end_of_turn>).
 * 3. Tokenize the whole render; a token is trained when its bytes overlap a trained span.
 *    Token byte ranges come from aligning token bytes with the text (token-bytes.ts); when that is
 *    impossible the render is tokenized span by span instead, which keeps the mask exact.
 */
import type { MaskMode, Message } from '../schema/dataset.ts';
import { ChatTemplateError, foldSystemIntoFirstUser } from './chat-template.ts';
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
  /** Character spans of each assistant turn (content + end-of-turn token), in order. */
  assistantSpans: Span[];
  /** The spans that are trained under the mask mode. */
  trainedSpans: Span[];
  /** 'offsets': whole-text tokenization; 'segments': tokenized span by span (fallback). */
  strategy: 'offsets' | 'segments';
  /** True when a system turn was folded into the first user turn for a template that refuses it. */
  systemFolded: boolean;
}

const MARK_OPEN = '\uE000';
const MARK_CLOSE = '\uE001';

interface Rendered {
  text: string;
  messages: Message[];
  systemFolded: boolean;
}

function renderBoth(tok: ModelTokenizer, messages: Message[]): { real: Rendered; marked: string } {
  const attempt = (msgs: Message[]) => ({
    real: tok.renderChat(msgs),
    marked: tok.renderChat(msgs.map((m, i) => ({ role: m.role, content: `${MARK_OPEN}${i}${MARK_CLOSE}` }))),
  });
  try {
    const r = attempt(messages);
    return { real: { text: r.real, messages, systemFolded: false }, marked: r.marked };
  } catch (err) {
    const folded = err instanceof ChatTemplateError ? foldSystemIntoFirstUser(messages) : null;
    if (!folded) throw err;
    const r = attempt(folded);
    return { real: { text: r.real, messages: folded, systemFolded: true }, marked: r.marked };
  }
}

/** Character span of every message in the real render (null for messages the template omits). */
export function messageSpans(real: string, marked: string, messages: Message[]): (Span | null)[] {
  const pieces: { fixed: string; index: number | null }[] = [];
  const re = new RegExp(`${MARK_OPEN}(\\d+)${MARK_CLOSE}`, 'g');
  let last = 0;
  const seen = new Set<number>();
  for (let m = re.exec(marked); m; m = re.exec(marked)) {
    const index = Number(m[1]);
    if (seen.has(index)) throw new ChatTemplateError(`the chat template renders message ${index + 1} twice`);
    seen.add(index);
    pieces.push({ fixed: marked.slice(last, m.index), index });
    last = m.index + m[0].length;
  }
  pieces.push({ fixed: marked.slice(last), index: null });
  const spans: (Span | null)[] = messages.map(() => null);
  let pos = 0;
  for (let k = 0; k < pieces.length; k++) {
    const { fixed, index } = pieces[k]!;
    if (!real.startsWith(fixed, pos))
      throw new ChatTemplateError('the chat template renders message contents in a way the masker cannot follow');
    pos += fixed.length;
    if (index === null) break;
    const content = messages[index]!.content;
    const next = pieces[k + 1]!.fixed;
    const candidates = [...new Set([content, content.trim(), content.trimStart(), content.trimEnd()])];
    const fit = candidates.find((c) => real.startsWith(c, pos) && real.startsWith(next, pos + c.length));
    if (fit === undefined)
      throw new ChatTemplateError(`cannot find message ${index + 1} in the rendered chat template`);
    spans[index] = { start: pos, end: pos + fit.length };
    pos += fit.length;
  }
  if (pos !== real.length) throw new ChatTemplateError('the rendered chat template has unexpected trailing text');
  return spans;
}

/** Encodes a conversation and computes its loss mask. Throws ChatTemplateError for unusable templates. */
export function encodeChat(
  tok: ModelTokenizer,
  messages: Message[],
  mode: MaskMode,
  opts: { strategy?: 'offsets' | 'segments' } = {},
): EncodedChat {
  const { real, marked } = renderBoth(tok, messages);
  const text = real.text;
  const spans = messageSpans(text, marked, real.messages);
  const assistantSpans: Span[] = [];
  real.messages.forEach((m, i) => {
    const span = spans[i];
    if (m.role !== 'assistant' || !span) return;
    const eot = tok.specialTokenAt(text, span.end);
    assistantSpans.push({ start: span.start, end: span.end + (eot ? eot.content.length : 0) });
  });
  const trainedSpans =
    mode === 'all' ? [{ start: 0, end: text.length }] : mode === 'last' ? assistantSpans.slice(-1) : assistantSpans;
  const base = { text, assistantSpans, trainedSpans, systemFolded: real.systemFolded };
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
