/**
 * llama.cpp against the engine on F32 GGUF files of every architecture the engine supports (tiny random fixtures,
 * test/fixtures/tiny-model-gguf.ts): next-token log-probabilities after every prefix of one fixed sequence, longer
 * than the sliding windows, engine K/V in f32 and llama.cpp's KV cache in F32, and the same argmax everywhere.
 * Gemma 1 / 2 differ from llama.cpp by more than the others because llama.cpp's CPU GELU reads an f16 table
 * (docs/formats.md, "GGUF as llama.cpp reads it"): there the engine is held to the exact float64 reference model, and
 * llama.cpp to the float64 model with the same table, which shows the deviation is the table's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARCHITECTURE_IDS } from '../../../src/arch/registry.ts';
import { parseModelConfig } from '../../../src/model/config.ts';
import { testRuntime } from '../../harness/device.ts';
import { seededRng } from '../../harness/rng.ts';
import { TOLERANCES } from '../../harness/tolerances.ts';
import { refWeightsOf } from '../../fixtures/onnx-run.ts';
import { Tape } from '../../reference/model/tape.ts';
import { refForward } from '../../reference/model/transformer.ts';
import { argmaxRows, engineLogProbs, logSoftmaxRows, maxAbsDiff } from './engine-run.ts';
import { llamaLogProbs } from './llama-cpp.ts';
import { CASES, caseName, judgeModel } from './models.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'llamacpp-f32-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Longer than the fixtures' sliding windows (mistral 16, gemma2 8). */
const T = 24;

describe('llama.cpp vs the engine: F32 GGUF', () => {
  it('the cases cover every architecture of the registry (a new family needs its fixture here)', () => {
    expect(new Set(CASES.map(([arch]) => arch as string))).toEqual(new Set(ARCHITECTURE_IDS));
  });

  for (const [arch, variant] of CASES) {
    const name = caseName(arch, variant);
    it(name, async () => {
      const rt = await testRuntime();
      const { model: m, files } = await judgeModel(join(root, `${arch}-${variant}`), arch, variant, ['F32']);
      const file = files.F32!;
      const rng = seededRng(`llamacpp f32 ${name}`);
      const ids = Array.from({ length: T }, () => rng.int(0, m.ids.vocab));
      const ours = await engineLogProbs(rt, file, ids);
      expect(ours.formats).toEqual(new Set(['f32']));
      const theirs = await llamaLogProbs(file, ids, ours.vocab);
      const diff = maxAbsDiff(ours.logProbs, theirs);
      const gelu = arch === 'gemma' || arch === 'gemma2';
      const tol = gelu ? TOLERANCES.llamacpp_gelu_f32 : TOLERANCES.llamacpp_f32;
      console.log(`[bound] llama.cpp vs engine ${name} F32: max abs log-prob ${diff.toExponential(2)} (≤ ${tol.atol})`);
      if (gelu) {
        // The engine = the exact float64 model; llama.cpp = the float64 model with its f16 GELU table.
        const d = parseModelConfig(m.config);
        const weights = await refWeightsOf(m.dir);
        const exact = logSoftmaxRows(refForward(new Tape(), d, weights, ids).data, d.vocab);
        const table = logSoftmaxRows(refForward(new Tape(), d, weights, ids, { geluF16Table: true }).data, d.vocab);
        const ourRef = maxAbsDiff(ours.logProbs, exact);
        const theirRef = maxAbsDiff(theirs, table);
        console.log(
          `[bound] ${name}: engine vs float64 ${ourRef.toExponential(2)}, llama.cpp vs float64 with an f16 GELU table ${theirRef.toExponential(2)}, llama.cpp vs exact float64 ${maxAbsDiff(theirs, exact).toExponential(2)}`,
        );
        expect(ourRef).toBeLessThanOrEqual(TOLERANCES.llamacpp_engine_vs_reference.atol);
        expect(theirRef).toBeLessThanOrEqual(TOLERANCES.llamacpp_vs_gelu_table.atol);
      }
      expect(diff).toBeLessThanOrEqual(tol.atol);
      expect(argmaxRows(ours.logProbs, ours.vocab)).toEqual(argmaxRows(theirs, ours.vocab));
    });
  }
});
