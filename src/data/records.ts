/**
 * The common record shape every parser produces (chat or text, with provenance), before the split
 * is assigned, plus the helpers that turn records into the JSONL rows TRL and mlx-lm read.
 */
import type {
  ChatRecord,
  DatasetRecord,
  Message,
  Problem,
  ProblemCode,
  Provenance,
  Split,
  TextRecord,
} from '../schema/dataset.ts';

/** A chat record as parsed, before splitting. `presplit` is set for rows of train/valid/test files. */
export interface ParsedChat {
  kind: 'chat';
  messages: Message[];
  source: Provenance;
  presplit?: Split;
  /** Records with the same group go to the same split (splitBy 'source'): one problem folder's descriptions. */
  group?: string;
}
/** A text record as parsed. `window` marks raw text that is cut into windows of the maximum length. */
export interface ParsedText {
  kind: 'text';
  text: string;
  source: Provenance;
  presplit?: Split;
  window?: boolean;
  /** Records with the same group go to the same split (splitBy 'source'): one raw-text file's windows. */
  group?: string;
}
export type ParsedRecord = ParsedChat | ParsedText;

export function chatRecord(messages: Message[], file: string, line: number): ParsedChat {
  return { kind: 'chat', messages, source: { file, line } };
}

export function textRecord(text: string, file: string, line: number, window = false): ParsedText {
  return window
    ? { kind: 'text', text, source: { file, line }, window }
    : { kind: 'text', text, source: { file, line } };
}

export function problem(
  file: string,
  line: number | null,
  code: ProblemCode,
  reason: string,
  offset?: number,
): Problem {
  return offset === undefined ? { file, line, code, reason } : { file, line, code, reason, offset };
}

/** The content that makes two records "exact duplicates": kind and messages, or kind and text. */
export function contentKey(record: ParsedRecord | DatasetRecord): string {
  return record.kind === 'chat'
    ? JSON.stringify(['chat', record.messages.map((m) => [m.role, m.content])])
    : JSON.stringify(['text', record.text]);
}

/** Adds `system` in front of a chat record's messages unless it already has a system turn. */
export function withSystemPrompt(record: ParsedChat, system: string): ParsedChat {
  if (!system || record.messages.some((m) => m.role === 'system')) return record;
  return { ...record, messages: [{ role: 'system', content: system }, ...record.messages] };
}

export function finalize(record: ParsedRecord, split: Split): DatasetRecord {
  if (record.kind === 'chat') {
    const out: ChatRecord = { kind: 'chat', messages: record.messages, source: record.source, split };
    return out;
  }
  const out: TextRecord = { kind: 'text', text: record.text, source: record.source, split };
  return out;
}

/** One JSONL row in the format TRL and mlx-lm read: `{"messages": [...]}` or `{"text": ...}`. */
export function toJsonlRow(record: DatasetRecord | ParsedRecord): string {
  return record.kind === 'chat'
    ? JSON.stringify({ messages: record.messages.map((m) => ({ role: m.role, content: m.content })) })
    : JSON.stringify({ text: record.text });
}
