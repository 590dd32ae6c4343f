/**
 * Browser inputs in Node: real File objects (Node's File is the web File) behind the parts of the
 * File and Directory Entries API the walker uses, and a webkitdirectory FileList.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { filesFromEntries, filesFromFileList } from '../../../src/data/browser-files.ts';
import { importDataset } from '../../../src/data/import.ts';
import { DATASETS, datasetPath, entryFor } from './helpers.ts';

test('a dropped folder is walked (in batches) and imports like the same folder from disk', async () => {
  const files = await filesFromEntries([entryFor(datasetPath('bad_inputs'), DATASETS)]);
  expect(files.map((f) => f.path).sort()).toContain('bad_inputs/asp_missing_answer/p2/ASP.txt');
  expect(files).toHaveLength(11);
  const res = await importDataset(files);
  expect(res.counts).toMatchObject({ records: 11, problems: 11, duplicates: 1 });
});

test('a webkitdirectory FileList keeps relative paths', async () => {
  const names = readdirSync(datasetPath('chatml_presplit'));
  const list = names.map((n) => {
    const f = new File([readFileSync(datasetPath('chatml_presplit', n))], n);
    Object.defineProperty(f, 'webkitRelativePath', { value: `chatml_presplit/${n}` });
    return f;
  });
  const files = filesFromFileList(list);
  expect(files.map((f) => f.path).sort()).toEqual(['chatml_presplit/train.jsonl', 'chatml_presplit/valid.jsonl']);
  const res = await importDataset(files);
  expect(res.presplit).toBe(true);
  expect(res.counts).toMatchObject({ train: 10, valid: 2 });
});
