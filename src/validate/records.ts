/**
 * Reads `{prompt, answer}` / chat records for validation and repair from the dataset layouts in
 * use (pairs.json arrays, *.jsonl streams, ASP problem folders). Pure text in, records out: the
 * caller reads the files (the CLI with node:fs, the app from the user's files).
 *
 * Which field holds the answer: a field whose name names the kind (`output_dot`, `asp`, `sql`),
 * else the first of `answer`, `output`, `completion`, `response`, `target`. The prompt is the first
 * string field among `prompt`, `instruction`, `question`, `input*` (e.g. `input_code`,
 * `input_text`), `text`.
 */
import type { DatasetRecord } from './repair.ts';
import { nameTokens } from './suggest.ts';
import type { ValidatorKind } from './types.ts';

export interface ParsedRecords {
  records: DatasetRecord[];
  /** `file:line: why` for each row that could not be used. */
  problems: string[];
}

const KIND_FIELD_TOKENS: Record<ValidatorKind, readonly string[]> = {
  asp: ['asp', 'clingo', 'lp'],
  dot: ['dot', 'graphviz', 'gv'],
  json: ['json'],
  sql: ['sql', 'sqlite'],
};

const ANSWER_FIELDS = ['answer', 'output', 'completion', 'response', 'target'];
const PROMPT_FIELDS = /^(prompt|instruction|question|input.*|text|query)$/i;

function isMessages(value: unknown): value is Array<{ role: string; content: string }> {
  return (
    Array.isArray(value) &&
    value.every(
      (m) =>
        typeof m === 'object' &&
        m !== null &&
        typeof (m as { role?: unknown }).role === 'string' &&
        typeof (m as { content?: unknown }).content === 'string',
    )
  );
}

/** A record from one JSON object, or a reason why not. */
export function recordFromObject(obj: unknown, kind: ValidatorKind): DatasetRecord | string {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return 'not a JSON object';
  const o = obj as Record<string, unknown>;
  if ('messages' in o) {
    if (!isMessages(o.messages)) return '"messages" is not a list of {role, content} strings';
    if (!o.messages.some((m) => m.role === 'assistant')) return 'no assistant message';
    return { messages: o.messages };
  }
  const strings = Object.keys(o).filter((k) => typeof o[k] === 'string');
  const answerKey =
    strings.find((k) => nameTokens(k).some((t) => KIND_FIELD_TOKENS[kind].includes(t))) ??
    ANSWER_FIELDS.find((k) => strings.includes(k));
  if (!answerKey) return `no answer field (looked for a ${kind} field or ${ANSWER_FIELDS.join('/')})`;
  const promptKey = strings.find((k) => k !== answerKey && PROMPT_FIELDS.test(k));
  return { prompt: promptKey ? (o[promptKey] as string) : '', answer: o[answerKey] as string };
}

/** Records from a `.json` (array of objects, or one object) or `.jsonl` file's text. */
export function recordsFromJsonText(fileName: string, text: string, kind: ValidatorKind): ParsedRecords {
  const records: DatasetRecord[] = [];
  const problems: string[] = [];
  const body = text.replace(/^\uFEFF/, '');
  const add = (obj: unknown, where: string) => {
    const r = recordFromObject(obj, kind);
    if (typeof r === 'string') problems.push(`${where}: ${r}`);
    else records.push(r);
  };
  if (/\.jsonl$/i.test(fileName)) {
    body.split(/\r?\n/).forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        add(JSON.parse(line), `${fileName}:${i + 1}`);
      } catch (e) {
        problems.push(`${fileName}:${i + 1}: ${e instanceof Error ? e.message : String(e)}`);
      }
    });
    return { records, problems };
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (e) {
    return { records, problems: [`${fileName}: ${e instanceof Error ? e.message : String(e)}`] };
  }
  if (Array.isArray(value)) value.forEach((v, i) => add(v, `${fileName}[${i}]`));
  else add(value, fileName);
  return { records, problems };
}

/** Is this the answer file of an ASP problem folder (`ASP.txt`, `*.lp`)? */
export function isAspAnswerFile(name: string): boolean {
  return /^asp\.txt$/i.test(name) || /\.lp$/i.test(name);
}

/** The task files an ASP problem folder may hold beside `ASP.txt`, in order of preference. */
export const ASP_TASK_FILES = ['NL.txt', 'IR.txt'];
