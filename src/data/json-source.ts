/**
 * JSON Lines and JSON-array sources: chat, prompt/completion, Alpaca, text and pairs rows.
 * JSONL is streamed line by line; a JSON array is split into elements that are parsed one by one.
 */
import type { FieldMapping, Problem, Split } from '../schema/dataset.ts';
import { DecodeError, LineIndex, readLines, readText, sniffFile } from './decode.ts';
import type { ImportFile } from './inputs.ts';
import { extension } from './inputs.ts';
import { scanJsonArray, skipSpace } from './json-array.ts';
import { chatRecord, problem, textRecord, type ParsedRecord } from './records.ts';
import { isRowObject, RowReader, type RowFormat } from './rows.ts';
import { decodeFailure, type SourceResult } from './source.ts';

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
  let encoding: string;
  let first: string;
  try {
    const sniffed = await sniffFile(file);
    encoding = sniffed.encoding;
    const head = await file.slice(sniffed.bomLength, Math.min(file.size, 4096));
    const label = encoding === 'utf-8-bom' ? 'utf-8' : encoding;
    const headText = new TextDecoder(label).decode(head);
    first = headText[skipSpace(headText, 0)] ?? '';
  } catch (err) {
    return decodeFailure(file.path, container, err);
  }
  if (first === '[' || container === 'json') return readWholeJson(file, opts, container);
  return streamJsonl(file, opts, container, encoding);
}

async function streamJsonl(
  file: ImportFile,
  opts: RowSourceOptions,
  container: 'json' | 'jsonl',
  encoding: string,
): Promise<SourceResult> {
  const sink = new RowSink(file.path, opts);
  let sawContent = false;
  try {
    for await (const { line, text, invalid } of readLines(
      file,
      opts.onBytes && ((n) => opts.onBytes!(n, sink.records.length)),
    )) {
      if (text.trim() === '') continue;
      sawContent = true;
      if (invalid) {
        sink.problems.push(
          problem(file.path, line, 'encoding', 'the line is not valid UTF-8 (bad bytes); fix or remove it'),
        );
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
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    sink.problems.push(problem(file.path, err.line, err.code, err.message));
  }
  if (!sawContent && sink.problems.length === 0) {
    sink.problems.push(problem(file.path, null, 'empty_file', 'empty file: no rows'));
  }
  return sink.result(container, encoding);
}

async function readWholeJson(
  file: ImportFile,
  opts: RowSourceOptions,
  container: 'json' | 'jsonl',
): Promise<SourceResult> {
  let text: string;
  let encoding: string;
  try {
    ({ text, encoding } = await readText(file));
  } catch (err) {
    return decodeFailure(file.path, container, err);
  }
  const sink = new RowSink(file.path, opts);
  const lines = new LineIndex(text);
  const start = skipSpace(text, 0);
  if (start >= text.length) {
    sink.problems.push(problem(file.path, null, 'empty_file', 'empty file: no rows'));
    return sink.result(container, encoding);
  }
  if (text[start] === '[') {
    const scan = scanJsonArray(text);
    for (const el of scan.elements) {
      const line = lines.lineAt(el.start);
      let value: unknown;
      try {
        value = JSON.parse(text.slice(el.start, el.end));
      } catch (err) {
        sink.problems.push(problem(file.path, line, 'invalid_json', invalidJson(err)));
        continue;
      }
      sink.add(value, line);
    }
    if (!scan.ok)
      sink.problems.push(
        problem(file.path, lines.lineAt(scan.offset), 'invalid_json', `invalid JSON: ${scan.message}`),
      );
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

function objectNotArrayReason(value: unknown): string {
  if (!isRowObject(value))
    return 'the file holds a single JSON value; expected an array of rows [{...}, ...] or JSON Lines';
  const inner = Object.entries(value).find(([, v]) => Array.isArray(v) && v.length > 0 && v.every(isRowObject));
  const hint = inner ? ` (the rows may be the array under "${inner[0]}")` : '';
  return `a JSON object where an array belongs: expected [{...}, ...] or one object per line (.jsonl)${hint}`;
}
