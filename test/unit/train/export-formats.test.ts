/**
 * Every format of the export registry (src/train/export-formats.ts), looped over: an adapter format writes a folder
 * in each dtype it declares and refuses the others; a model format writes a folder from a tiny model and refuses an
 * adapter of another model, leaving no file open. Each format's own
 * test checks what its files hold.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdapterDtype } from '../../../src/formats/peft.ts';
import { parseModelConfig } from '../../../src/model/config.ts';
import { NodeFolderModelSource } from '../../../src/model/source-node.ts';
import {
  type AdapterExportFormat,
  adapterExportFiles,
  EXPORT_FORMAT_IDS,
  EXPORT_FORMATS,
  ExportRefusedError,
  exportFormat,
  writeModelExport,
} from '../../../src/train/export-formats.ts';
import { type TinyModel, makeTinyModel } from '../../fixtures/make-models.ts';
import { memorySink } from '../../fixtures/memory-sink.ts';
import { randomAdapter } from '../../fixtures/random-adapter.ts';
import { seededRng } from '../../harness/rng.ts';

const ALL_DTYPES: readonly AdapterDtype[] = ['f32', 'f16', 'bf16'];

let root: string;
let model: TinyModel;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'export-formats-'));
  model = await makeTinyModel('llama', join(root, 'llama'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the export registry', () => {
  it('has unique ids that name folders safely, and an entry for every id', () => {
    expect(new Set(EXPORT_FORMAT_IDS).size).toBe(EXPORT_FORMATS.length);
    for (const id of EXPORT_FORMAT_IDS) {
      expect(id).toMatch(/^[a-z0-9-]+$/);
      expect(exportFormat(id).id).toBe(id);
    }
    expect(() => exportFormat('nope' as never)).toThrow(/Unknown export format "nope"/);
  });

  for (const spec of EXPORT_FORMATS) {
    it(`${spec.id}: the writer is of the kind its entry says, and writes what the entry offers`, async () => {
      const writer = await spec.writer();
      const desc = parseModelConfig(model.config);
      const e = randomAdapter(desc, seededRng(`export registry ${spec.id}`), { rank: 2, baseModel: 'tiny/llama' });
      if (spec.needsModel !== 'weights') {
        expect(writer.kind).toBe('adapter');
        expect(spec.dtypes.length).toBeGreaterThan(0);
        for (const dtype of ALL_DTYPES) {
          const run = adapterExportFiles(spec.id as AdapterExportFormat, e, { facts: null, desc, dtype });
          if ((spec.dtypes as readonly AdapterDtype[]).includes(dtype)) {
            const files = await run;
            expect(files.length).toBeGreaterThan(0);
            expect(files.map((f) => f.name)).toContain('README.md');
            for (const f of files) expect(f.bytes.byteLength).toBeGreaterThan(0);
          } else {
            await expect(run).rejects.toThrow(new RegExp(`not ${dtype}`));
          }
        }
      } else {
        expect(writer.kind).toBe('model');
        expect(spec.dtypes).toEqual([]);
        expect(spec.madeFromModel).toMatch(/made from the base model$/);
        expect(spec.ifRefused?.length).toBeGreaterThan(0);
        const source = await NodeFolderModelSource.open(model.dir);
        const sink = memorySink();
        const result = await writeModelExport(spec.id, source, e, sink);
        expect(result.files.length).toBeGreaterThan(0);
        expect([...sink.files.keys()].sort()).toEqual(result.files.map((f) => f.name).sort());
        expect(sink.files.has('config.json')).toBe(true);
        expect(sink.openNow.size).toBe(0);
        // An adapter for another model is refused, and no file is left open.
        const wider = parseModelConfig({ ...model.config, hidden_size: 2 * Number(model.config.hidden_size) });
        const other = randomAdapter(wider, seededRng(`export registry ${spec.id} other`), { rank: 2 });
        const refusedSink = memorySink();
        const refused = await writeModelExport(spec.id, source, other, refusedSink).catch((err: unknown) => err);
        expect(refused).toBeInstanceOf(Error);
        expect((refused as Error).message).toMatch(/another base model/);
        // The writer's own refusals carry the entry's hint (what to do instead).
        if (refused instanceof ExportRefusedError) expect(refused.hint).toBe(spec.ifRefused);
        expect(refusedSink.openNow.size).toBe(0);
      }
    });
  }
});
