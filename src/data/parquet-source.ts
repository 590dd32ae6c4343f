/**
 * Parquet sources through hyparquet (CSV/TSV are in csv-source.ts): rows are objects keyed by
 * column name and go through the same row reader as JSON rows; only the byte ranges hyparquet asks
 * for are read.
 */
import { parquetMetadataAsync, parquetReadObjects, type AsyncBuffer } from 'hyparquet';
import type { ImportFile } from './inputs.ts';
import { problem } from './records.ts';
import { RowSink, type RowSourceOptions } from './json-source.ts';
import type { SourceResult } from './source.ts';

const PARQUET_BATCH_ROWS = 5000;
/** Unreadable batches in a row after which the rest of the file is reported as one problem. */
const MAX_FAILED_BATCHES = 8;

/** hyparquet's file interface over an ImportFile (reads only the byte ranges it asks for). */
function asyncBuffer(file: ImportFile): AsyncBuffer {
  return {
    byteLength: file.size,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const bytes = await file.slice(start, end ?? file.size);
      if (
        bytes.byteOffset === 0 &&
        bytes.byteLength === bytes.buffer.byteLength &&
        bytes.buffer instanceof ArrayBuffer
      ) {
        return bytes.buffer;
      }
      return bytes.slice().buffer as ArrayBuffer;
    },
  };
}

/** Parquet values → JSON-like values (bigint → number or string, typed arrays → arrays). */
function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (Array.isArray(value)) return value.map(plain);
  if (ArrayBuffer.isView(value) && !(value instanceof DataView))
    return Array.from(value as unknown as ArrayLike<number>);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

export async function readParquetSource(file: ImportFile, opts: RowSourceOptions): Promise<SourceResult> {
  const sink = new RowSink(file.path, opts);
  if (file.size === 0) {
    sink.problems.push(problem(file.path, null, 'empty_file', 'empty file'));
    return sink.result('parquet', null);
  }
  const buffer = asyncBuffer(file);
  let numRows: number;
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
  try {
    metadata = await parquetMetadataAsync(buffer);
    numRows = Number(metadata.num_rows);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    sink.problems.push(problem(file.path, null, 'parquet_error', `not a readable Parquet file: ${msg}`));
    return sink.result('parquet', null);
  }
  const groupRows = metadata.row_groups.reduce((a, g) => a + Number(g?.num_rows), 0);
  if (!Number.isSafeInteger(numRows) || numRows < 0 || groupRows !== numRows) {
    const why = `the file says it holds ${String(metadata.num_rows)} rows but its row groups hold ${groupRows}`;
    sink.problems.push(problem(file.path, null, 'parquet_error', `not a readable Parquet file: ${why}`));
    return sink.result('parquet', null);
  }
  if (numRows === 0) sink.problems.push(problem(file.path, null, 'empty_file', 'Parquet file has no rows'));
  let failedInARow = 0;
  for (let start = 0; start < numRows; start += PARQUET_BATCH_ROWS) {
    const end = Math.min(numRows, start + PARQUET_BATCH_ROWS);
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file: buffer, metadata, rowStart: start, rowEnd: end });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      // Many unreadable batches in a row: the rest of the file is one problem, not thousands.
      const last = ++failedInARow >= MAX_FAILED_BATCHES ? numRows : end;
      sink.problems.push(
        problem(file.path, start + 1, 'parquet_error', `cannot read rows ${start + 1}-${last}: ${msg}`),
      );
      if (last === numRows) break;
      continue;
    }
    failedInARow = 0;
    rows.slice(0, end - start).forEach((row, i) => sink.add(plain(row), start + i + 1));
    if (rows.length < end - start) {
      // The metadata promised rows the data does not hold: report the rest, read no further.
      const from = start + rows.length + 1;
      const reason = `rows ${from}-${numRows} could not be read: the file says it holds ${numRows} rows, the data ends before`;
      sink.problems.push(problem(file.path, from, 'parquet_error', reason));
      break;
    }
    opts.onBytes?.(Math.round((file.size * end) / numRows), sink.records.length);
  }
  return sink.result('parquet', null);
}
