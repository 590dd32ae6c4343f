/**
 * llama.cpp against the engine on F32 GGUF files of every architecture the engine supports (tiny random fixtures,
 * test/fixtures/tiny-model-gguf.ts): next-token log-probabilities after every prefix of one fixed sequence, longer
 * than the sliding windows, engine K/V in f32 and llama.cpp's KV cache in F32.
 * Gemma 2 differs from llama.cpp by more than the others because llama.cpp's CPU GELU reads an f16 lookup table
 * (docs/formats.md, "llama.cpp as a judge"); the engine computes GELU exactly, so it is also held to the float64
 * reference model, where the others' agreement with llama.cpp already shows it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseModelConfig } from '../../../src/model/config.ts';
import { testRuntime } from '../../harness/device.ts';
import { seededRng } from '../../harness/rng.ts';
import { TOLERANCES } from '../../harness/tolerances.ts';
import { makeTinyModel, type TinyModel } from '../../fixtures/make-models.ts';
import { makeTinyGemma, refWeightsOf } from '../../fixtures/onnx-run.ts';
import { tinyGguf } from '../../fixtures/tiny-model-gguf.ts';
import { buildFixtureTokenizer } from '../../fixtures/tokenizer.ts';
import { Tape } from '../../reference/model/tape.ts';
import { refForward } from '../../reference/model/transformer.ts';
import { argmaxRows, engineLogProbs, logSoftmaxRows, maxAbsDiff } from './engine-run.ts';
import { llamaLogProbs } from './llama-cpp.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'llamacpp-f32-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

export const CASES = [
  ['llama', 'default'],
  ['llama', 'rope-llama3'],
  ['llama', 'tied'],
  ['mistral', 'default'],
  ['qwen2', 'default'],
  ['qwen3', 'default'],
  ['gemma', 'default'],
  ['gemma2', 'default'],
  ['phi3', 'default'],
] as const;

/** Longer than the fixtures' sliding windows (mistral 16, gemma2 8). */
const T = 24;

/** The tiny model of a case with its F32 GGUF; Gemma 1 is made from the gemma2 fixture (test/fixtures/onnx-run.ts). */
async function modelWithGguf(
  arch: (typeof CASES)[number][0],
  variant: (typeof CASES)[number][1],
): Promise<[TinyModel, string]> {
  const dir = join(root, `${arch}-${variant}`);
  if (arch !== 'gemma') {
    const m = await makeTinyModel(arch, dir, { variant, gguf: ['F32'] });
    return [m, join(dir, m.ggufFiles.F32!)];
  }
  const m = await makeTinyGemma(dir);
  const file = join(dir, 'tiny-gemma-f32.gguf');
  const tokenizer = buildFixtureTokenizer('gemma', 120);
  await writeFile(file, tinyGguf({ ...m, arch: 'gemma', tokenizer, type: 'F32' }));
  return [m, file];
}

describe('llama.cpp vs the engine: F32 GGUF', () => {
  for (const [arch, variant] of CASES) {
    const name = `${arch}${variant === 'default' ? '' : ` ${variant}`}`;
    it(name, async () => {
      const rt = await testRuntime();
      const [m, file] = await modelWithGguf(arch, variant);
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
        expect(theirRef).toBeLessThanOrEqual(TOLERANCES.llamacpp_f32.atol);
      }
      expect(diff).toBeLessThanOrEqual(tol.atol);
      expect(argmaxRows(ours.logProbs, ours.vocab)).toEqual(argmaxRows(theirs, ours.vocab));
    });
  }
});
