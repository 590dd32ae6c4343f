/**
 * The worker's scale-out calls without a GPU (fake-indexeddb): "Scale out" on a stored run zips its folder with the
 * dataset's rows and the run's settings; a run whose dataset was deleted, and an adapter import whose base model is
 * not in the cache, are refused with what to do.
 */
import 'fake-indexeddb/auto';
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { saveDataset } from '../../../src/storage/datasets.ts';
import { putRun } from '../../../src/storage/runs.ts';
import { workerDb } from '../../../src/worker/runtime.ts';
import { scaleOutApi, scaleOutFolderName } from '../../../src/worker/scale-out.ts';
import { fakeRun } from '../../fixtures/fake-run.ts';
import { importFixture } from '../data/helpers.ts';

describe('worker scale-out', () => {
  it("zips a stored run's scale-out folder: its rows and settings", async () => {
    const db = await workerDb();
    const imported = await importFixture('chatml_presplit', { mask: 'last' });
    const meta = await saveDataset(db, 'sql chat', imported);
    const run = {
      ...fakeRun('so-1', 'My run: v1', { repo: 'Qwen/Qwen2.5-0.5B', revision: 'main' }, { rank: 4, alpha: 8, step: 3 }),
      datasetId: meta.id,
    };
    await putRun(db, run);
    const r = await scaleOutApi.scaleOutRun(run.id, null);
    if (!r.ok) throw new Error(r.error.message);
    const folder = scaleOutFolderName(run.name);
    expect(folder).toBe('My-run-v1-scale-out');
    const zip = unzipSync(r.value.zip!);
    const file = (name: string) => new TextDecoder().decode(zip[`${folder}/${name}`]);
    // The model is not cached here: every row of the two splits is written.
    const rows = (name: string) => file(name).trim().split('\n').length;
    expect(rows('train.jsonl')).toBe(imported.counts.train);
    expect(rows('valid.jsonl')).toBe(imported.counts.valid);
    const script = file('train.py');
    expect(script).toContain('"id": "Qwen/Qwen2.5-0.5B",');
    expect(script).toContain('"revision": "main",');
    expect(script).toContain('"r": 4,');
    expect(script).toContain('"mask": "last",');
    expect(r.value.files.map((f) => f.name)).toContain(`${folder}/axolotl.yaml`);
  });

  it('refuses a run without its dataset, and an adapter for a model that is not cached', async () => {
    const db = await workerDb();
    const run = {
      ...fakeRun('so-2', 'gone', { repo: 'a/b', revision: 'main' }, { rank: 4, alpha: 8, step: 3 }),
      datasetId: 'deleted',
    };
    await putRun(db, run);
    const r = await scaleOutApi.scaleOutRun(run.id, null);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/dataset of this run \("greetings"\) was deleted/);
    const i = await scaleOutApi.importPeftAdapter({ repo: 'a/b', revision: 'main' }, 'x', [
      { name: 'out/adapter_config.json', bytes: new TextEncoder().encode('{}') },
    ]);
    expect(i.ok).toBe(false);
    if (!i.ok) expect(i.error.message).toMatch(/adapter_model\.safetensors is missing/);
    const j = await scaleOutApi.importPeftAdapter({ repo: 'a/b', revision: 'main' }, 'x', [
      { name: 'out/adapter_config.json', bytes: new TextEncoder().encode('{}') },
      { name: 'out/adapter_model.safetensors', bytes: new Uint8Array(8) },
    ]);
    expect(j.ok).toBe(false);
    if (!j.ok) expect(j.error.message).toMatch(/a\/b is not in this browser's cache/);
  });
});
