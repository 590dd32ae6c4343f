/**
 * The import worker's API, called in-process: inputs and results must survive structured cloning
 * (postMessage), and progress is reported while reading and tokenizing.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import type { ImportProgress } from '../../../src/data/import.ts';
import { importWorkerApi, type WorkerInput } from '../../../src/data/import-worker-api.ts';
import { buildFixtureTokenizer } from '../../fixtures/tokenizer.ts';
import { datasetPath } from './helpers.ts';

test('File inputs and the tokenizer files in, a cloneable result out, with progress', async () => {
  const names = ['eli5.jsonl', 'executive.jsonl'];
  const files = names.map((n) => ({
    path: `personas/${n}`,
    blob: new File([readFileSync(datasetPath('personas', n))], n),
  }));
  const tokenizer = buildFixtureTokenizer('gemma');
  const unreadable = { path: 'personas/gone.jsonl', unreadable: 'the browser could not read it (NotFoundError)' };
  const inputs: WorkerInput[] = [...files, unreadable];
  const cloned = structuredClone({ inputs, tokenizer });
  const progress: ImportProgress[] = [];
  const result = await importWorkerApi.importDataset(cloned.inputs, { maxLength: 4096 }, cloned.tokenizer, (p) =>
    progress.push(p),
  );
  expect(result.counts).toMatchObject({ records: 12, train: 10, valid: 2 });
  expect(result.tokens!.records).toBe(12);
  expect(result.skipped).toEqual([{ path: 'personas/gone.jsonl', reason: unreadable.unreadable }]);
  expect(structuredClone(result)).toEqual(result);
  const total = files.reduce((a, i) => a + i.blob.size, 0);
  expect(progress.some((p) => p.phase === 'read' && p.done === total && p.total === total)).toBe(true);
  expect(progress.some((p) => p.phase === 'tokenize' && p.done === 12)).toBe(true);
});
