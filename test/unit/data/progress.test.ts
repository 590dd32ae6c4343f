/**
 * Import progress carries the good rows read so far and the files finished, so the page can show
 * "files, bytes, rows" while a large file streams.
 */
import { expect, test } from 'vitest';
import { importDataset, type ImportProgress } from '../../../src/data/import.ts';
import { chunkedFile, importFixture, textFile } from './helpers.ts';

test('read progress counts rows as the stream goes and files as they finish', async () => {
  const rows = Array.from({ length: 400 }, (_, i) => JSON.stringify({ prompt: `q${i}`, completion: `a${i}` })).join(
    '\n',
  );
  const bytes = new TextEncoder().encode(rows);
  const progress: ImportProgress[] = [];
  const res = await importDataset(
    [
      chunkedFile('big/a.jsonl', bytes, 1000),
      textFile('big/b.jsonl', '{"text": "x"}\n{"oops"\n'),
      textFile('big/notes.bin', 'zz'),
    ],
    {},
    { onProgress: (p) => progress.push(p) },
  );
  const read = progress.filter((p) => p.phase === 'read');
  expect(read.every((p) => p.filesTotal === 3)).toBe(true);
  // the unsupported .bin counts as finished from the start
  expect(read[0]!.filesDone).toBe(1);
  // bytes reach the total (the unsupported file's bytes count as done from the start, like its file)
  expect(read[0]!.done).toBe(2 + 1000);
  expect(read.at(-1)).toMatchObject({ done: read.at(-1)!.total, rows: 401, filesDone: 3 });
  for (let i = 1; i < read.length; i++) {
    expect(read[i]!.rows!).toBeGreaterThanOrEqual(read[i - 1]!.rows!);
    expect(read[i]!.filesDone!).toBeGreaterThanOrEqual(read[i - 1]!.filesDone!);
  }
  // rows grow while the first file is still being read, chunk by chunk
  const during = read.filter((p) => p.file === 'big/a.jsonl' && p.done < bytes.byteLength + 2);
  expect(during.length).toBeGreaterThan(5);
  expect(new Set(during.map((p) => p.rows)).size).toBeGreaterThan(5);
  expect(during.every((p) => p.filesDone === 1)).toBe(true);
  expect(res.counts.rowsRead).toBe(401);
});

test('problem folders report their files when the folder set is done', async () => {
  const progress: ImportProgress[] = [];
  const res = await importFixture('asp_benchmark', {}, { onProgress: (p) => progress.push(p) });
  const last = progress.filter((p) => p.phase === 'read').at(-1)!;
  expect(last).toMatchObject({ rows: res.counts.rowsRead, filesDone: last.filesTotal });
  expect(last.filesTotal).toBe(24);
});

test('a file where every one of 200,000 lines is a problem still imports (problems are not spread into a call)', async () => {
  const text = `${'{"broken"\n'.repeat(200_000)}{"prompt": "q", "completion": "a"}\n`;
  const res = await importDataset([textFile('bad.jsonl', text)]);
  expect(res.counts).toMatchObject({ problems: 200_000, records: 1 });
  expect(res.problems.at(-1)).toMatchObject({ file: 'bad.jsonl', line: 200_000, code: 'invalid_json' });
});
