/**
 * Dataset accounting on hostile files with known good and bad rows (test/fixtures/hostile-datasets.ts):
 * every good row is kept, every bad one is reported with file, line and (for bytes that are not
 * text) the byte offset; every file is imported or listed. The same through the Node file source,
 * the browser file source (File and Directory Entries over real File objects), in-memory bytes and
 * streams cut into chunks of any size. Links, a FIFO and unreadable entries are listed with a reason.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { filesFromEntries } from '../../../src/data/browser-files.ts';
import { importDataset, type ImportResult } from '../../../src/data/import.ts';
import type { UnreadableInput } from '../../../src/data/inputs.ts';
import { filesFromPaths } from '../../../src/data/node-files.ts';
import { hostileCorpus, hostileText, type HostileFile } from '../../fixtures/hostile-datasets.ts';
import { chunkedFile, entryFor, problemKeysWithOffsets } from './helpers.ts';

function writeFiles(files: HostileFile[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'hostile-'));
  for (const f of files) {
    mkdirSync(dirname(join(dir, f.path)), { recursive: true });
    writeFileSync(join(dir, f.path), f.bytes);
  }
  return dir;
}

const recordKeys = (r: ImportResult) => r.records.map((x) => `${x.source.file}:${x.source.line}`).sort();
const skippedPaths = (r: ImportResult) => r.skipped.map((s) => s.path).sort();

/** What two imports of the same files must agree on. */
const accounting = (r: ImportResult) => ({
  records: recordKeys(r),
  problems: problemKeysWithOffsets(r.problems),
  skipped: r.skipped,
  counts: r.counts,
});

describe('hostile rows and files', () => {
  const { files, expected } = hostileCorpus();
  const dir = writeFiles(files);

  test('Node file source: every good row kept, every bad one reported with its line and byte offset', async () => {
    const res = await importDataset(await filesFromPaths([join(dir, 'hostile')]));
    expect(problemKeysWithOffsets(res.problems)).toEqual([...expected.problems].sort());
    expect(recordKeys(res)).toEqual([...expected.records].sort());
    expect(skippedPaths(res)).toEqual([...expected.skipped].sort());
    expect(res.counts).toMatchObject({
      records: expected.records.length,
      problems: expected.problems.length,
      duplicates: 0,
    });
    // Exact numbers, so a change in the fixture shows here too.
    expect(res.counts.records).toBe(64);
    expect(res.counts.problems).toBe(16);
    const utf16 = res.sources.find((s) => s.path === 'hostile/utf16.jsonl');
    expect(utf16).toMatchObject({ encoding: 'utf-16le', rows: 3, problems: 1 });
  });

  test('the browser file source, in-memory bytes and any chunk size give the same accounting', async () => {
    const node = accounting(await importDataset(await filesFromPaths([join(dir, 'hostile')])));
    const unreadable: UnreadableInput[] = [];
    const dropped = await filesFromEntries([entryFor(join(dir, 'hostile'), dir, 3)], unreadable);
    expect(unreadable).toEqual([]);
    expect(accounting(await importDataset(dropped))).toEqual(node);
    expect(accounting(await importDataset(files))).toEqual(node);
    for (const chunk of [1, 2, 3, 7, 64, 4096]) {
      const chunked = files.map((f) => chunkedFile(f.path, f.bytes, chunk));
      expect(accounting(await importDataset(chunked)), `chunks of ${chunk} bytes`).toEqual(node);
    }
  });

  test('raw text: a NUL and a bad byte lose their lines only, reported with offsets', async () => {
    const text = hostileText();
    const res = await importDataset(text.files);
    expect(problemKeysWithOffsets(res.problems)).toEqual(text.problems);
    expect(res.records).toHaveLength(1);
    expect(res.records[0]).toMatchObject({ kind: 'text', text: text.kept });
    const viaDisk = await importDataset(await filesFromPaths([join(writeFiles(text.files), 'texts')]));
    expect(accounting(viaDisk)).toEqual(accounting(res));
  });
});

describe('links and special files', () => {
  const { files } = hostileCorpus('data');
  const dir = writeFiles(files.filter((f) => f.path === 'data/cr.jsonl' || f.path === 'data/nul.jsonl'));
  const data = join(dir, 'data');
  const outside = join(dir, 'outside');
  mkdirSync(join(outside, 'more'), { recursive: true });
  writeFileSync(join(outside, 'more', 'extra.jsonl'), '{"prompt": "linked folder", "completion": "ok"}\n');
  writeFileSync(join(outside, 'linked.jsonl'), '{"prompt": "linked file", "completion": "ok"}\n');
  symlinkSync(join(outside, 'linked.jsonl'), join(data, 'link-to-file.jsonl'));
  symlinkSync(join(outside, 'more'), join(data, 'link-to-folder'));
  symlinkSync(join(data, 'cr.jsonl'), join(data, 'same-as-cr.jsonl'));
  symlinkSync(join(dir, 'missing.jsonl'), join(data, 'broken.jsonl'));
  symlinkSync(data, join(data, 'loop'));
  symlinkSync(join(data, 'ping'), join(data, 'pong'));
  symlinkSync(join(data, 'pong'), join(data, 'ping'));
  execFileSync('mkfifo', [join(data, 'queue.jsonl')]);

  test('Node: links are followed; broken links, loops and a FIFO are listed with the reason', async () => {
    const res = await importDataset(await filesFromPaths([data]));
    expect(res.skipped.map((s) => `${s.path}: ${s.reason}`).sort()).toEqual([
      'data/broken.jsonl: cannot be read: its target does not exist (a broken symbolic link)',
      'data/loop: a link to a folder already read (data)',
      'data/ping: cannot be read: a loop of symbolic links',
      'data/pong: cannot be read: a loop of symbolic links',
      'data/queue.jsonl: not a regular file (a FIFO, socket or device)',
    ]);
    expect(recordKeys(res)).toContain('data/link-to-file.jsonl:1');
    expect(recordKeys(res)).toContain('data/link-to-folder/extra.jsonl:1');
    // A link to a file already imported brings its rows twice: they are removed as duplicates, listed.
    expect(res.counts).toMatchObject({ records: 10 + 9 + 2, duplicates: 10 });
    expect(res.duplicates.filter((d) => d.source.file === 'data/same-as-cr.jsonl')).toHaveLength(10);
  });

  test('browser: an entry the browser will not hand over is listed as skipped, the rest imported', async () => {
    const unreadable: UnreadableInput[] = [];
    const dropped = await filesFromEntries(
      [entryFor(join(dir, 'outside'), dir), entryFor(join(data, 'broken.jsonl'), dir)],
      unreadable,
    );
    expect(unreadable.map((u) => u.path)).toEqual(['data/broken.jsonl']);
    const res = await importDataset([...dropped, ...unreadable]);
    expect(res.skipped).toEqual([
      {
        path: 'data/broken.jsonl',
        reason: 'the browser could not read it (A requested file or directory could not be found.)',
      },
    ]);
    expect(res.counts.records).toBe(2);
    // Without a list to put it in, the walk fails as before (the model-folder drop wants that).
    await expect(filesFromEntries([entryFor(join(data, 'broken.jsonl'), dir)])).rejects.toThrow(/could not be found/);
  });
});

test('a file that fails while it is read is reported; the other files are imported', async () => {
  const good = { path: 'd/good.jsonl', bytes: new TextEncoder().encode('{"text": "kept"}\n') };
  const failing = {
    path: 'd/changed.jsonl',
    size: 64,
    stream: () =>
      new ReadableStream<Uint8Array>({
        pull(controller) {
          controller.error(new DOMException('The file changed on disk.', 'NotReadableError'));
        },
      }),
    slice: async () => new TextEncoder().encode('{"text": "x"}\n'),
  };
  const res = await importDataset([failing, good]);
  expect(res.records.map((r) => r.source.file)).toEqual(['d/good.jsonl']);
  expect(res.problems).toEqual([
    {
      file: 'd/changed.jsonl',
      line: null,
      code: 'read_error',
      reason: 'the file could not be read (The file changed on disk.); was it changed or removed while importing?',
    },
  ]);
});
