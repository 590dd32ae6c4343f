/**
 * CSV / TSV sources through papaparse: the header line names the columns, each row becomes an
 * object that goes through the same row reader as JSON rows. A broken record (a quote that is never
 * closed, or one that swallows following lines into a row with the wrong number of fields) is
 * reported at its first line and parsing starts again at the next line, so the rows after it are
 * kept. A row on a line with bytes that are not text is reported with the byte offset, not read.
 */
import Papa from 'papaparse';
import { BadLineCursor, LineIndex } from './decode.ts';
import type { ImportFile } from './inputs.ts';
import { extension } from './inputs.ts';
import { skipSpace } from './json-array.ts';
import { RowSink, type RowSourceOptions } from './json-source.ts';
import { problem } from './records.ts';
import { badLineProblem, decodeSource, type SourceResult } from './source.ts';

interface ParsedRow {
  fields: string[];
  /** UTF-16 indices of the row in the text: first character and the end (after its line end). */
  start: number;
  end: number;
  quoteError: string | null;
}

/**
 * Parses rows from `from` to the end, or until `onRow` returns where to start again (the parser is
 * stopped there); returns that index, or null when the end was reached.
 */
function parseFrom(
  text: string,
  from: number,
  delimiter: string,
  onRow: (row: ParsedRow) => number | null,
): number | null {
  let prev = from;
  let restart: number | null = null;
  Papa.parse<string[]>(from === 0 ? text : text.slice(from), {
    header: false,
    delimiter,
    newline: '\n',
    skipEmptyLines: 'greedy',
    dynamicTyping: false,
    step(result, parser) {
      const end = from + result.meta.cursor;
      const quote = result.errors.find((e) => e.type === 'Quotes');
      const row = { fields: result.data, start: skipSpace(text, prev), end, quoteError: quote?.message ?? null };
      prev = end;
      restart = onRow(row);
      if (restart !== null) parser.abort();
    },
  });
  return restart;
}

function detectDelimiter(text: string, container: 'csv' | 'tsv'): string {
  if (container === 'tsv') return '\t';
  const firstLines = text.slice(0, Math.min(text.length, 64 * 1024));
  const guessed = Papa.parse<string[]>(firstLines, { preview: 10, newline: '\n', delimiter: '' }).meta.delimiter;
  return guessed || ',';
}

export async function readCsvSource(file: ImportFile, opts: RowSourceOptions): Promise<SourceResult> {
  const container = extension(file.path) === 'tsv' || extension(file.path) === 'tab' ? 'tsv' : 'csv';
  const decoded = await decodeSource(file, container, opts.onBytes);
  if (!('text' in decoded)) return decoded;
  const { text, encoding } = decoded;
  const sink = new RowSink(file.path, opts);
  if (text.trim() === '') {
    sink.problems.push(problem(file.path, null, 'empty_file', 'empty file: no header and no rows'));
    return sink.result(container, encoding);
  }
  const lines = new LineIndex(text);
  const bad = new BadLineCursor(decoded.bad);
  const delimiter = detectDelimiter(text, container);
  let header: string[] | null = null;
  let rows = 0;
  for (let from: number | null = 0; from !== null && from < text.length;) {
    from = parseFrom(text, from, delimiter, (row) => {
      const line = lines.lineAt(row.start);
      const last = text.charCodeAt(row.end - 1) === 0x0a ? row.end - 2 : row.end - 1;
      const spansLines = lines.lineAt(Math.max(row.start, last)) > line;
      const wrongCount = header !== null && row.fields.length !== header.length;
      if (row.quoteError !== null || (spansLines && wrongCount)) {
        // A quote that never closes (or closes far away) took the following lines into this row.
        const why = row.quoteError ?? `a quoted field runs over ${lines.lineAt(last) - line + 1} lines`;
        const nextLine = text.indexOf('\n', row.start);
        if (header !== null) rows++;
        if (spansLines && nextLine >= 0) {
          const note = `; the row is left out and reading resumed at line ${line + 1}`;
          sink.problems.push(problem(file.path, line, 'csv_error', `CSV: ${why} (check the quotes)${note}`));
          return nextLine + 1;
        }
        sink.problems.push(problem(file.path, line, 'csv_error', `CSV: ${why} (check the quotes)`));
        return null;
      }
      const bytes = bad.overlap(row.start, row.end);
      if (header === null) {
        if (bytes) sink.problems.push(badLineProblem(file.path, bytes.line, bytes.bad, encoding));
        header = row.fields;
        return null;
      }
      rows++;
      if (bytes) {
        sink.problems.push(badLineProblem(file.path, bytes.line, bytes.bad, encoding));
        return null;
      }
      if (row.fields.length > header.length) {
        const reason = `CSV: the row has ${row.fields.length} fields but the header has ${header.length}`;
        sink.problems.push(problem(file.path, line, 'csv_error', reason));
        return null;
      }
      // Own properties (even "__proto__"); a repeated column name keeps its first column.
      const cells = header.map((name, i) => [name, row.fields[i]] as const).filter(([, v]) => v !== undefined);
      sink.add(Object.fromEntries(cells.reverse()), line);
      return null;
    });
  }
  if (rows === 0) sink.problems.push(problem(file.path, null, 'empty_file', 'only a header line, no rows'));
  return sink.result(container, encoding);
}
