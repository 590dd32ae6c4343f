/**
 * A K-quant GGUF base (Q2_K .. Q6_K) stays in its type on the GPU at the default quant 'none': every matrix (the
 * embedding table included) holds the file's bytes, its values read back equal the CPU dequantization of the file
 * bit for bit, the load report counts the file's bytes, the memory plan counts the same bytes, and the engine's
 * logits equal a float64 forward on the dequantized weights.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dequantizeGguf } from '../../src/formats/gguf-dequant.ts';
import type { GgmlType } from '../../src/formats/gguf-types.ts';
import { isKQuantFormat } from '../../src/formats/quant-blocks.ts';
import { modelAllocations } from '../../src/model/allocations.ts';
import { checkpointStoredTypes, openCheckpoint } from '../../src/model/checkpoint.ts';
import { loadNotes } from '../../src/model/load-notes.ts';
import { ModelEngine } from '../../src/model/model.ts';
import { settingsFor } from '../../src/model/plan.ts';
import { NodeFolderModelSource } from '../../src/model/source-node.ts';
import { expectClose } from '../harness/allclose.ts';
import { testRuntime } from '../harness/device.ts';
import { seededRng } from '../harness/rng.ts';
import { TOLERANCES } from '../harness/tolerances.ts';
import { type TinyModel, makeTinyModel } from '../fixtures/make-models.ts';
import { Tensor, Tape } from '../reference/model/tape.ts';
import { refForward } from '../reference/model/transformer.ts';
import { firstDifference, loadAndRead } from './loader-case.ts';

const TYPES: GgmlType[] = ['Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'];

let root: string;
let m: TinyModel;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'loader-kquant-'));
  // Rows of 256 and 512 values: whole super-blocks everywhere (the vocabulary is the embedding's row count).
  const dims = { hidden: 256, intermediate: 512, layers: 1, heads: 4, kvHeads: 2, headDim: 64 };
  m = await makeTinyModel('qwen2', join(root, 'kq'), { dims, gguf: TYPES });
}, 120_000);
afterAll(() => rm(root, { recursive: true, force: true }));

describe('K-quant GGUF bases are read as stored', () => {
  for (const type of TYPES) {
    it(`${type}: kept as ${type.toLowerCase()}, exact values, bytes counted${type === 'Q4_K' ? ', logits against float64' : ''}`, async () => {
      const rt = await testRuntime();
      const file = join(m.dir, m.ggufFiles[type]!);
      const ckpt = await openCheckpoint(await NodeFolderModelSource.open(file));
      const { loaded, host } = await loadAndRead(rt, file, { quant: 'none', owner: 'test-load' });
      const format = type.toLowerCase();
      let kquant = 0;
      let fileBytes = 0;
      for (const [name, t] of ckpt.tensors) {
        if (t.stored !== format) continue;
        kquant++;
        const bytes = await t.read();
        fileBytes += bytes.byteLength;
        const got = host.get(name);
        expect(got?.format, name).toBe(format);
        expect(firstDifference(got!.values, dequantizeGguf(type, bytes, got!.values.length)), name).toBeNull();
      }
      expect(kquant).toBe(8); // the (tied) embedding table and 7 projections
      expect(loaded.report.fallbacks).toEqual([]);
      expect(loaded.report.conversions).toEqual([]);
      expect(loaded.report.kept).toEqual({ [format]: 8 });
      expect(loadNotes(loaded.report.kept, loaded.report.conversions)).toEqual([
        `kept as stored (no conversion): ${format} × 8`,
      ]);
      // GPU arrays are rounded up to whole u32: at most 2 bytes per tensor for the 2-byte scales of Q3_K / Q6_K.
      const counted = loaded.report.bytesByFormat[format]!;
      expect(counted - fileBytes).toBeGreaterThanOrEqual(0);
      expect(counted - fileBytes).toBeLessThanOrEqual(2 * kquant);

      // The memory plan, given the checkpoint's stored types, counts the same weight bytes (norms and biases f32).
      const settings = {
        ...settingsFor(loaded.weights.desc, { quant: 'none', seq: 8, rank: 4 }),
        storedTypes: checkpointStoredTypes(ckpt),
      };
      const planned = modelAllocations(loaded.weights.desc, settings)
        .filter((a) => a.category === 'weights' && isKQuantFormat(ckpt.tensors.get(a.name)?.stored ?? ''))
        .reduce((s, a) => s + a.bytes, 0);
      expect(planned).toBe(fileBytes);
      await ckpt.close();

      // The engine end to end (embedding gather, every projection, the tied head) on the most common type; the
      // matmul of each type is checked against float64 in matmul_kquant.test.ts (compiling the whole engine per
      // type would cost ~10 s of SwiftShader each).
      if (type !== 'Q4_K') return rt.memory.destroyOwner('test-load');
      const d = loaded.weights.desc;
      const T = 7;
      const rng = seededRng(`kquant logits ${type}`);
      const ids = Array.from({ length: T }, () => rng.int(0, d.vocab));
      const engine = new ModelEngine(rt, loaded.weights, 1, T, null, 'inference');
      const logits = await engine.logits({ ids: Uint32Array.from(ids), B: 1, T });
      engine.destroy();
      const ref = new Map([...host].map(([name, h]) => [name, new Tensor(Float64Array.from(h.values), h.shape)]));
      const r = expectClose(`${type} logits`, logits, refForward(new Tape(), d, ref, ids).data, TOLERANCES.model_f32);
      console.log(
        `[bound] ${type} logits vs float64: max abs ${r.maxAbs.toExponential(2)}, norm-wise ${r.normRel.toExponential(2)}`,
      );
      rt.memory.destroyOwner('test-load');
    });
  }
});
