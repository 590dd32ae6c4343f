/**
 * JSON Lines and JSON-array sources: chat, prompt/completion, Alpaca, text and pairs rows.
 * JSONL is streamed line by line; a JSON array is split into elements that are parsed one by one.
 */
import type { FieldMapping, Problem, Split } from '../schema/dataset.ts';
import { BadLineCursor, LineIndex, readLines, sniffFile } from './decode.ts';
import type { ImportFile } from './inputs.ts';
import { extension } from './inputs.ts';
import { scanJsonArray, skipSpace } from './json-array.ts';
import { chatRecord, problem, textRecord, type ParsedRecord } from './records.ts';
import { isRowObject, RowReader, type RowFormat } from './rows.ts';
import { badLineProblem, decodeFailure, decodeSource, type SourceResult } from './source.ts';
import type { TextEncodingName } from './sniff.ts';

export interface RowSourceOptions {
  format: RowFormat | null;
  mapping: FieldMapping | null;
  presplit: Split | null;
  /** Bytes of the file read so far, and the good rows read from it so far. */
  onBytes?: (bytesRead: number, rows: number) => void;
}

function invalidJson(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return `invalid JSON: ${msg}`;
}

/** Collects the outcome of reading rows into records and problems. */
export class RowSink {
  readonly records: ParsedRecord[] = [];
  readonly problems: Problem[] = [];
  readonly reader: RowReader;
  constructor(
    readonly path: string,
    private readonly opts: RowSourceOptions,
  ) {
    this.reader = new RowReader(opts.format, opts.mapping);
  }

  add(value: unknown, line: number): void {
    const result = this.reader.read(value, line);
    if (!result.ok) {
      this.problems.push(problem(this.path, line, result.code, result.reason));
      return;
    }
    const record =
      result.kind === 'chat' ? chatRecord(result.messages, this.path, line) : textRecord(result.text, this.path, line);
    if (this.opts.presplit) record.presplit = this.opts.presplit;
    this.records.push(record);
  }

  result(container: SourceResult['summary']['container'], encoding: string | null): SourceResult {
    return {
      records: this.records,
      problems: this.problems,
      summary: {
        path: this.path,
        format: this.reader.format,
        container,
        encoding,
        rows: this.records.length,
        problems: this.problems.length,
        mapping: this.reader.format === 'pairs' || this.opts.mapping ? this.reader.mapping : null,
        presplit: this.opts.presplit,
      },
    };
  }
}

/** Reads a .jsonl / .json / .ndjson file. */
export async function readJsonSource(file: ImportFile, opts: RowSourceOptions): Promise<SourceResult> {
  const container = extension(file.path) === 'json' ? 'json' : 'jsonl';
  let encoding: TextEncodingName;
  let first: string;
  try {
    const sniffed = await sniffFile(file);
    encoding = sniffed.encoding;
    const head = await file.slice(sniffed.bomLength, Math.min(file.size, 4096));
    const headText = new TextDecoder(encoding === 'utf-8-bom' ? 'utf-8' : encoding).decode(head);
    first = headText[skipSpace(headText, 0)] ?? '';
  } catch (err) {
    return decodeFailure(file.path, container, err);
  }
  if (container === 'json' || (first === '[' && !(await isJsonlWithArrayRow(file))))
    return readWholeJson(file, opts, container);
  return streamJsonl(file, opts, container, encoding);
}

/**
 * A .jsonl file that starts with "[": JSON Lines whose first row is an array (its first line
 * parses on its own and more lines follow), or a JSON array saved as .jsonl.
 */
async function isJsonlWithArrayRow(file: ImportFile): Promise<boolean> {
  let seen = 0;
  for await (const { text } of readLines(file)) {
    if (text.trim() === '') continue;
    if (++seen === 2) return true;
    try {
      JSON.parse(text);
    } catch {
      return false;
    }
  }
  return false;
}

async function streamJsonl(
  file: ImportFile,
  opts: RowSourceOptions,
  container: 'json' | 'jsonl',
  encoding: TextEncodingName,
): Promise<SourceResult> {
  const sink = new RowSink(file.path, opts);
  let sawContent = false;
  for await (const { line, text, bad } of readLines(
    file,
    opts.onBytes && ((n) => opts.onBytes!(n, sink.records.length)),
  )) {
    if (text.trim() === '') continue;
    sawContent = true;
    if (bad) {
      sink.problems.push(badLineProblem(file.path, line, bad, encoding));
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      sink.problems.push(problem(file.path, line, 'invalid_json', invalidJson(err)));
      continue;
    }
    sink.add(value, line);
  }
  if (!sawContent) sink.problems.push(problem(file.path, null, 'empty_file', 'empty file: no rows'));
  return sink.result(container, encoding);
}

async function readWholeJson(
  file: ImportFile,
  opts: RowSourceOptions,
  container: 'json' | 'jsonl',
): Promise<SourceResult> {
  const decoded = await decodeSource(file, container, opts.onBytes);
  if (!('text' in decoded)) return decoded;
  const { text, encoding } = decoded;
  const sink = new RowSink(file.path, opts);
  const lines = new LineIndex(text);
  const start = skipSpace(text, 0);
  if (start >= text.length) {
    sink.problems.push(problem(file.path, null, 'empty_file', 'empty file: no rows'));
    return sink.result(container, encoding);
  }
  if (text[start] === '[') {
    const scan = scanJsonArray(text);
    const bad = new BadLineCursor(decoded.bad);
    // Elements and errors in file order, so each problem lands at its place.
    const events = [
      ...scan.elements.map((e) => ({ at: e.start, element: e })),
      ...scan.errors.map((e) => ({ at: e.offset, error: e })),
    ].sort((a, b) => a.at - b.at);
    // An error at the very end (an array not closed) belongs to the last line that holds something.
    let last = text.length - 1;
    while (last > 0 && /\s/.test(text[last]!)) last--;
    for (const ev of events) {
      const line = lines.lineAt(Math.min(ev.at, last));
      if ('error' in ev && ev.error) {
        const { message, resumeAt } = ev.error;
        const bytes = bad.overlap(ev.at, resumeAt ?? text.length);
        if (bytes) sink.problems.push(badLineProblem(file.path, bytes.line, bytes.bad, encoding));
        else
          sink.problems.push(
            problem(file.path, line, 'invalid_json', `${message}${resumeNote(ev.at, resumeAt, lines, text.length)}`),
          );
      } else if ('element' in ev && ev.element) {
        const bytes = bad.overlap(ev.element.start, ev.element.end);
        if (bytes) sink.problems.push(badLineProblem(file.path, bytes.line, bytes.bad, encoding));
        else sink.add(ev.element.value, line);
      }
    }
    return sink.result(container, encoding);
  }
  // Not an array: one JSON object (an object where an array belongs), or JSON Lines saved as .json.
  let whole: unknown;
  try {
    whole = JSON.parse(text);
  } catch {
    return streamJsonl(file, opts, container, encoding);
  }
  sink.problems.push(problem(file.path, lines.lineAt(start), 'object_not_array', objectNotArrayReason(whole)));
  return sink.result(container, encoding);
}

function resumeNote(at: number, resumeAt: number | null, lines: LineIndex, length: number): string {
  if (resumeAt === null) return at >= length ? '' : '; nothing after it could be read';
  const from = lines.lineAt(at);
  const to = lines.lineAt(resumeAt);
  return to > from + 1 ? `; lines ${from}-${to - 1} were left out, reading resumed at line ${to}` : '';
}

function objectNotArrayReason(value: unknown): string {
  if (!isRowObject(value))
    return 'the file holds a single JSON value; expected an array of rows [{...}, ...] or JSON Lines';
  const inner = Object.entries(value).find(([, v]) => Array.isArray(v) && v.length > 0 && v.every(isRowObject));
  const hint = inner ? ` (the rows may be the array under "${inner[0]}")` : '';
  return `a JSON object where an array belongs: expected [{...}, ...] or one object per line (.jsonl)${hint}`;
}
