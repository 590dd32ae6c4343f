/**
 * Token counts with the model's tokenizer and chat template: raw text cut into windows of the
 * maximum length, the over-length policy (drop or truncate), and length statistics with a
 * histogram. `encodeRecord` is what the trainer calls to get ids + loss mask for a stored record.
 */
import type { DatasetRecord, Histogram, ImportSettings, MaskMode, OverLength, TokenStats } from '../schema/dataset.ts';
import { LineIndex } from './decode.ts';
import { encodeChat, encodeText, type EncodedExample } from './mask.ts';
import { textRecord, type ParsedRecord, type ParsedText } from './records.ts';
import type { ModelTokenizer } from './tokenizer.ts';

/** Characters per token assumed for windowing raw text when no tokenizer is chosen. */
export const CHARS_PER_TOKEN_ESTIMATE = 4;

export function encodeRecord(
  tok: ModelTokenizer,
  record: ParsedRecord | DatasetRecord,
  mask: MaskMode,
): EncodedExample & { systemFolded?: boolean } {
  return record.kind === 'chat' ? encodeChat(tok, record.messages, mask) : encodeText(tok, record.text);
}

export type LengthOutcome =
  | { kind: 'ok'; example: EncodedExample }
  | { kind: 'truncated'; example: EncodedExample; originalLength: number }
  | { kind: 'dropped'; reason: 'too_long' | 'no_trained_tokens'; length: number };

/** Applies the over-length policy; a truncated example that keeps no trained token is dropped. */
export function applyLengthPolicy(example: EncodedExample, maxLength: number, policy: OverLength): LengthOutcome {
  const n = example.ids.length;
  if (n <= maxLength) return { kind: 'ok', example };
  if (policy === 'drop') return { kind: 'dropped', reason: 'too_long', length: n };
  const cut = { ids: example.ids.slice(0, maxLength), mask: example.mask.slice(0, maxLength) };
  if (!cut.mask.some((m) => m === 1)) return { kind: 'dropped', reason: 'no_trained_tokens', length: n };
  return { kind: 'truncated', example: cut, originalLength: n };
}

/** The ids + mask the trainer feeds for a stored record under the dataset's settings. */
export function trainingExample(
  tok: ModelTokenizer,
  record: DatasetRecord,
  settings: ImportSettings,
): EncodedExample | null {
  const outcome = applyLengthPolicy(encodeRecord(tok, record, settings.mask), settings.maxLength, settings.overLength);
  return outcome.kind === 'dropped' ? null : outcome.example;
}

/** Character index of every UTF-8 byte offset in `byteCuts` (offsets must be on character boundaries or are moved back to one). */
function charIndices(text: string, byteCuts: number[]): number[] {
  const out: number[] = [];
  let bytes = 0;
  let i = 0;
  for (const target of byteCuts) {
    for (;;) {
      if (i >= text.length) break;
      const c = text.codePointAt(i)!;
      const w = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
      if (bytes + w > target) break;
      bytes += w;
      i += c > 0xffff ? 2 : 1;
    }
    out.push(i);
  }
  return out;
}

/**
 * Cuts a raw-text record into windows whose encoding (with BOS/EOS) fits `maxLength` tokens.
 * Windows are cut at token boundaries of the whole text and lose nothing between them. Without a
 * tokenizer they are estimated at CHARS_PER_TOKEN_ESTIMATE characters per token, cut at whitespace.
 */
export function windowText(record: ParsedText, maxLength: number, tok: ModelTokenizer | null): ParsedText[] {
  const { text } = record;
  const { file, line } = record.source;
  const windows: ParsedText[] = [];
  let lines: LineIndex | null = null;
  const push = (piece: string, at: number) => {
    lines ??= new LineIndex(text);
    if (piece.trim() !== '') windows.push(textRecord(piece, file, line - 1 + lines.lineAt(at)));
  };
  if (!tok) {
    const width = maxLength * CHARS_PER_TOKEN_ESTIMATE;
    for (let at = 0; at < text.length;) {
      let next = Math.min(text.length, at + width);
      if (next < text.length) {
        // The last space or line end inside the window (searched back to the window's start only).
        let cut = next;
        while (cut > at && text.charCodeAt(cut) !== 0x20 && text.charCodeAt(cut) !== 0x0a) cut--;
        if (cut > at) next = cut + 1;
      }
      push(text.slice(at, next), at);
      at = next;
    }
    return windows;
  }
  const body = Math.max(1, maxLength - encodeText(tok, '').ids.length);
  const ids = tok.encode(text, false);
  if (ids.length <= body) return [textRecord(text, file, line)];
  const offsets = tok.byteOffsets(ids, text);
  if (!offsets) {
    // The tokenizer rewrites the text (normalizer): windows are the decoded token slices.
    let at = 0;
    for (let t = 0; t < ids.length; t += body) {
      const piece = tok.decode(ids.slice(t, t + body));
      push(piece, Math.min(at, text.length));
      at += piece.length;
    }
    return windows;
  }
  const startChar = charIndices(text, Array.from(offsets.starts));
  for (let t = 0; t < ids.length;) {
    let end = Math.min(ids.length, t + body);
    for (;;) {
      const a = startChar[t]!;
      const piece = text.slice(a, end < ids.length ? startChar[end]! : text.length);
      const excess = encodeText(tok, piece).ids.length - maxLength;
      // Re-encoding a window can differ by a token at its edges: move its end back until it fits.
      if (excess <= 0 || end - t <= 1) {
        push(piece, a);
        break;
      }
      end = Math.max(t + 1, end - excess);
    }
    t = end;
  }
  return windows;
}

export function histogram(lengths: number[], maxLength: number, bins = 20): Histogram {
  const top = lengths.reduce((a, n) => (n > a ? n : a), Math.max(maxLength, 1));
  const binWidth = Math.ceil(top / bins);
  const counts = new Array<number>(bins).fill(0);
  for (const n of lengths) counts[Math.min(bins - 1, Math.floor(n / binWidth))]!++;
  return { binWidth, counts };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

export interface LengthPass {
  kept: ParsedRecord[];
  stats: TokenStats;
  droppedTooLong: ParsedRecord[];
  droppedNoTrained: ParsedRecord[];
  /** Records whose render has no trained token at all (the chat template writes no answer): left out. */
  untrainable: ParsedRecord[];
  truncated: number;
  /** Records whose system turn was folded into the first user turn (the template refuses a system role). */
  systemFolded: number;
}

/** Counts tokens of every record, applies the over-length policy and computes the statistics. */
export function lengthPass(
  tok: ModelTokenizer,
  records: ParsedRecord[],
  settings: Pick<ImportSettings, 'maxLength' | 'overLength' | 'mask'>,
  onProgress?: (done: number, total: number) => void,
): { pass: LengthPass; failures: { record: ParsedRecord; reason: string }[] } {
  const kept: ParsedRecord[] = [];
  const lengths: number[] = [];
  const droppedTooLong: ParsedRecord[] = [];
  const droppedNoTrained: ParsedRecord[] = [];
  const untrainable: ParsedRecord[] = [];
  const failures: { record: ParsedRecord; reason: string }[] = [];
  let totalTokens = 0;
  let trainedTokens = 0;
  let overLength = 0;
  let truncated = 0;
  let systemFolded = 0;
  records.forEach((record, i) => {
    if (i % 256 === 0) onProgress?.(i, records.length);
    let example: ReturnType<typeof encodeRecord>;
    try {
      example = encodeRecord(tok, record, settings.mask);
    } catch (err) {
      failures.push({ record, reason: err instanceof Error ? err.message : String(err) });
      return;
    }
    if (example.systemFolded) systemFolded++;
    const n = example.ids.length;
    lengths.push(n);
    if (n > settings.maxLength) overLength++;
    const outcome = applyLengthPolicy(example, settings.maxLength, settings.overLength);
    if (outcome.kind === 'dropped') {
      (outcome.reason === 'too_long' ? droppedTooLong : droppedNoTrained).push(record);
      return;
    }
    if (!outcome.example.mask.includes(1)) {
      untrainable.push(record);
      return;
    }
    if (outcome.kind === 'truncated') truncated++;
    totalTokens += outcome.example.ids.length;
    for (const m of outcome.example.mask) trainedTokens += m;
    kept.push(record);
  });
  onProgress?.(records.length, records.length);
  const sorted = [...lengths].sort((a, b) => a - b);
  const stats: TokenStats = {
    records: lengths.length,
    totalTokens,
    trainedTokens,
    min: sorted[0] ?? 0,
    max: sorted[sorted.length - 1] ?? 0,
    mean: lengths.length ? lengths.reduce((a, b) => a + b, 0) / lengths.length : 0,
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    overLength,
    dropped: droppedTooLong.length + droppedNoTrained.length + untrainable.length,
    truncated,
    histogram: histogram(lengths, settings.maxLength),
  };
  return {
    pass: { kept, stats, droppedTooLong, droppedNoTrained, untrainable, truncated, systemFolded },
    failures,
  };
}
