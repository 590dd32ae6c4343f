/**
 * Row interpretation shared by JSONL, JSON arrays, CSV/TSV and Parquet: which format a row object
 * has, the field mapping of "pairs" rows, and the conversion of one row into a chat or text record
 * (or the reason it cannot be one).
 */
import type { FieldMapping, Message, ProblemCode, SourceFormat } from '../schema/dataset.ts';
import { RoleSchema } from '../schema/dataset.ts';

/** Formats a single row can have (problem folders and raw text are file-level formats). */
export type RowFormat = Extract<SourceFormat, 'chat' | 'prompt_completion' | 'alpaca' | 'text' | 'pairs'>;

export type RowObject = Record<string, unknown>;

export type RowResult =
  | { ok: true; kind: 'chat'; messages: Message[] }
  | { ok: true; kind: 'text'; text: string }
  | { ok: false; code: ProblemCode; reason: string };

export const PROMPT_COMPLETION_MAPPING: FieldMapping = { prompt: ['prompt'], answer: 'completion' };
export const ALPACA_MAPPING: FieldMapping = { prompt: ['instruction', 'input'], answer: 'output', system: 'system' };

const PROMPT_FIELD = /^(input|prompt|question|query|instruction|source|nl|problem|context|request|text)([_-].*)?$/i;
const ANSWER_FIELD = /^(output|answer|response|completion|target|solution|label|reply|code|program)([_-].*)?$/i;

export function isRowObject(value: unknown): value is RowObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/** Guesses which fields of a row hold prompt and answer (e.g. input_code → output_dot). */
export function inferMapping(keys: string[]): FieldMapping | null {
  const answer = keys.find((k) => ANSWER_FIELD.test(k));
  const prompts = keys.filter((k) => k !== answer && PROMPT_FIELD.test(k));
  if (!answer || prompts.length === 0) return null;
  const system = keys.find((k) => /^system([_-]?prompt)?$/i.test(k));
  return system ? { prompt: prompts, answer, system } : { prompt: prompts, answer };
}

/** The format a row object looks like, or null when its fields say nothing. */
export function rowFormatOf(row: RowObject): RowFormat | null {
  if ('messages' in row) return 'chat';
  if ('prompt' in row && 'completion' in row) return 'prompt_completion';
  if ('instruction' in row && 'output' in row) return 'alpaca';
  if ('text' in row && !Object.keys(row).some((k) => ANSWER_FIELD.test(k))) return 'text';
  if (inferMapping(Object.keys(row))) return 'pairs';
  if ('prompt' in row) return 'prompt_completion';
  return null;
}

export const FORMAT_FIELDS: Record<RowFormat, string> = {
  chat: '{"messages": [...]}',
  prompt_completion: '{"prompt", "completion"}',
  alpaca: '{"instruction", "input", "output"}',
  text: '{"text"}',
  pairs: 'mapped prompt → answer fields',
};

function fieldList(row: RowObject): string {
  const keys = Object.keys(row);
  return keys.length ? keys.join(', ') : 'no fields';
}

/** Validates a list of {role, content} messages. `where` names the field for messages. */
export function readMessages(value: unknown, where = 'messages'): RowResult {
  if (isRowObject(value)) {
    return {
      ok: false,
      code: 'object_not_array',
      reason: `"${where}" is an object; it must be an array of {role, content}`,
    };
  }
  if (!Array.isArray(value)) {
    return {
      ok: false,
      code: 'wrong_fields',
      reason: `"${where}" is ${describeType(value)}; it must be an array of {role, content}`,
    };
  }
  if (value.length === 0) return { ok: false, code: 'missing_answer', reason: `"${where}" is empty` };
  const messages: Message[] = [];
  for (let i = 0; i < value.length; i++) {
    const m: unknown = value[i];
    const n = i + 1;
    if (!isRowObject(m)) {
      return {
        ok: false,
        code: 'not_an_object',
        reason: `message ${n} is ${describeType(m)}, expected {role, content}`,
      };
    }
    const role = RoleSchema.safeParse(m.role);
    if (!role.success) {
      const shown = typeof m.role === 'string' ? `"${m.role}"` : describeType(m.role);
      return {
        ok: false,
        code: 'unknown_role',
        reason: `message ${n} has unknown role ${shown} (expected system, user or assistant)`,
      };
    }
    if (typeof m.content !== 'string') {
      return {
        ok: false,
        code: 'non_string_content',
        reason: `message ${n} (${role.data}) has content that is ${describeType(m.content)}, expected a string`,
      };
    }
    messages.push({ role: role.data, content: m.content });
  }
  if (!messages.some((m) => m.role === 'assistant' && m.content.trim() !== '')) {
    return { ok: false, code: 'missing_answer', reason: 'no assistant message with content (nothing to train on)' };
  }
  return { ok: true, kind: 'chat', messages };
}

/** Reads a mapped pair row: prompt fields joined by a blank line, one answer field, optional system. */
export function readPair(row: RowObject, mapping: FieldMapping): RowResult {
  const present = mapping.prompt.filter((f) => Object.hasOwn(row, f) && row[f] !== null && row[f] !== undefined);
  const hasAnswer =
    Object.hasOwn(row, mapping.answer) && row[mapping.answer] !== null && row[mapping.answer] !== undefined;
  if (present.length === 0 && !hasAnswer) {
    return {
      ok: false,
      code: 'wrong_fields',
      reason: `wrong field names: expected ${mapping.prompt.join(' or ')} → ${mapping.answer}, found ${fieldList(row)}`,
    };
  }
  if (present.length === 0) {
    return {
      ok: false,
      code: 'wrong_fields',
      reason: `no prompt field (${mapping.prompt.join(' or ')}); found ${fieldList(row)}`,
    };
  }
  const parts: string[] = [];
  for (const f of present) {
    const v = row[f];
    if (typeof v !== 'string') {
      return { ok: false, code: 'non_string_content', reason: `field "${f}" is ${describeType(v)}, expected a string` };
    }
    if (v.trim() !== '') parts.push(v);
  }
  if (!hasAnswer) {
    return {
      ok: false,
      code: 'missing_answer',
      reason: `missing answer field "${mapping.answer}"; found ${fieldList(row)}`,
    };
  }
  const answer = row[mapping.answer];
  if (typeof answer !== 'string') {
    return {
      ok: false,
      code: 'non_string_content',
      reason: `field "${mapping.answer}" is ${describeType(answer)}, expected a string`,
    };
  }
  if (answer.trim() === '')
    return { ok: false, code: 'missing_answer', reason: `answer field "${mapping.answer}" is empty` };
  if (parts.length === 0) return { ok: false, code: 'missing_answer', reason: 'the prompt is empty' };
  const messages: Message[] = [];
  const system = mapping.system && Object.hasOwn(row, mapping.system) ? row[mapping.system] : undefined;
  if (typeof system === 'string' && system.trim() !== '') messages.push({ role: 'system', content: system });
  messages.push({ role: 'user', content: parts.join('\n\n') }, { role: 'assistant', content: answer });
  return { ok: true, kind: 'chat', messages };
}

/** Converts one row of a known format. */
export function readRow(row: RowObject, format: RowFormat, mapping: FieldMapping | null): RowResult {
  switch (format) {
    case 'chat':
      if (!('messages' in row)) {
        return { ok: false, code: 'wrong_fields', reason: `no "messages" field; found ${fieldList(row)}` };
      }
      return readMessages(row.messages);
    case 'prompt_completion':
      // TRL's conversational prompt/completion: both sides are message lists.
      if (Array.isArray(row.prompt) || Array.isArray(row.completion)) {
        const prompt = readMessagesLoose(row.prompt, 'prompt');
        if (!prompt.ok) return prompt;
        const completion = readMessagesLoose(row.completion, 'completion');
        if (!completion.ok) return completion;
        return readMessages([...(row.prompt as unknown[]), ...(row.completion as unknown[])], 'prompt + completion');
      }
      return readPair(row, mapping ?? PROMPT_COMPLETION_MAPPING);
    case 'alpaca':
      return readPair(row, mapping ?? ALPACA_MAPPING);
    case 'text': {
      if (!('text' in row))
        return { ok: false, code: 'wrong_fields', reason: `no "text" field; found ${fieldList(row)}` };
      if (typeof row.text !== 'string') {
        return {
          ok: false,
          code: 'non_string_content',
          reason: `"text" is ${describeType(row.text)}, expected a string`,
        };
      }
      if (row.text.trim() === '') return { ok: false, code: 'missing_answer', reason: '"text" is empty' };
      return { ok: true, kind: 'text', text: row.text };
    }
    case 'pairs':
      if (!mapping) {
        return {
          ok: false,
          code: 'wrong_fields',
          reason: `cannot tell prompt and answer fields apart in ${fieldList(row)}; set a field mapping`,
        };
      }
      return readPair(row, mapping);
  }
}

function readMessagesLoose(value: unknown, where: string): { ok: true } | (RowResult & { ok: false }) {
  if (Array.isArray(value)) return { ok: true };
  if (isRowObject(value)) {
    return {
      ok: false,
      code: 'object_not_array',
      reason: `"${where}" is an object; it must be an array of {role, content}`,
    };
  }
  return {
    ok: false,
    code: 'wrong_fields',
    reason: `"${where}" is ${describeType(value)}; expected a list of messages`,
  };
}

/**
 * Reads rows of one source in order. The first row with a recognisable format fixes the source's
 * format and mapping (as mlx-lm does); later rows of another format are reported, not guessed.
 */
export class RowReader {
  format: RowFormat | null;
  mapping: FieldMapping | null;
  private formatLine: number | null = null;

  constructor(forced: RowFormat | null, mapping: FieldMapping | null) {
    this.format = forced;
    this.mapping = mapping;
  }

  read(value: unknown, line: number): RowResult {
    if (!isRowObject(value)) {
      return { ok: false, code: 'not_an_object', reason: `row is ${describeType(value)}, expected a JSON object` };
    }
    // With a user mapping, rows whose fields say nothing are read as mapped pairs.
    const own = rowFormatOf(value) ?? (this.mapping ? 'pairs' : null);
    if (this.format === null) {
      if (own === null) {
        return {
          ok: false,
          code: 'wrong_fields',
          reason: `unrecognised fields (${fieldList(value)}); set the format or a field mapping`,
        };
      }
      this.format = own;
      this.formatLine = line;
      if (own === 'pairs' && !this.mapping) this.mapping = inferMapping(Object.keys(value));
    } else if (
      this.formatLine !== null &&
      own !== null &&
      own !== this.format &&
      !(this.format === 'pairs' && own !== 'chat' && own !== 'text')
    ) {
      return {
        ok: false,
        code: 'mixed_formats',
        reason: `row is ${FORMAT_FIELDS[own]} but this file's rows are ${FORMAT_FIELDS[this.format]} (set by line ${this.formatLine})`,
      };
    }
    if (this.format === 'pairs' && !this.mapping) this.mapping = inferMapping(Object.keys(value));
    return readRow(value, this.format, this.mapping);
  }
}
