/**
 * llama.cpp against the engine on every GGUF type the loader reads besides F32 (src/model/checkpoint.ts
 * GGUF_STORED), for every architecture. llama.cpp's quantized matmuls round the activations too (to f16, bf16 or
 * Q8 blocks), so it does not equal its own dequantized model either; its distance to that reference (the same
 * weights as F32 values, test/fixtures/tiny-model-gguf.ts `dequantized`) is the yardstick:
 *   |engine − llama.cpp| ≤ 1.5 · |llama.cpp − llama.cpp on the dequantized F32 file| + the architecture's F32 bound
 * (max abs next-token log-probability over a fixed sequence). The engine, which computes with f32 activations, is
 * also held to llama.cpp's dequantized reference itself (the F32 bound) and to its argmax at every position.
 * K-quants run on models whose rows hold whole 256-value blocks; the loader must keep every type as stored on the
 * GPU (no re-quantization to a lossier type), which each case checks first.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GGML_TYPES, type GgmlType } from '../../../src/formats/gguf-types.ts';
import { GGUF_STORED } from '../../../src/model/checkpoint.ts';
import { asStoredFormat } from '../../../src/model/host-tensors.ts';
import { testRuntime } from '../../harness/device.ts';
import { seededRng } from '../../harness/rng.ts';
import { TOLERANCES } from '../../harness/tolerances.ts';
import { argmaxRows, engineLogProbs, maxAbsDiff } from './engine-run.ts';
import { llamaLogProbs } from './llama-cpp.ts';
import { CASES, caseName, judgeModel, K_QUANT_DIMS, type JudgeModel } from './models.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'llamacpp-quant-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const T = 16;
const TYPES = (Object.keys(GGUF_STORED) as GgmlType[]).filter((t) => t !== 'F32');
const SMALL_BLOCKS = TYPES.filter((t) => GGML_TYPES[t].blockSize <= 32);
const K_QUANTS = TYPES.filter((t) => GGML_TYPES[t].blockSize === 256);

/** Whether the loader puts a type on the GPU as stored (a K-quant needs its GPU kernel for that). */
function gpuKeepsAsStored(type: GgmlType): boolean {
  const stored = GGUF_STORED[type]!;
  return (asStoredFormat(stored) as string) === stored;
}

async function judge(name: string, m: JudgeModel, type: GgmlType): Promise<void> {
  const rt = await testRuntime();
  const rng = seededRng(`llamacpp ${type} ${name}`);
  const ids = Array.from({ length: T }, () => rng.int(0, m.model.ids.vocab));
  const ours = await engineLogProbs(rt, m.files[type]!, ids);
  const theirs = await llamaLogProbs(m.files[type]!, ids, ours.vocab);
  const theirRef = await llamaLogProbs(m.dequantized[type]!, ids, ours.vocab);
  const own = maxAbsDiff(theirs, theirRef);
  const diff = maxAbsDiff(ours.logProbs, theirs);
  const exact = maxAbsDiff(ours.logProbs, theirRef);
  const gelu = m.model.config.model_type === 'gemma' || m.model.config.model_type === 'gemma2';
  const base = (gelu ? TOLERANCES.llamacpp_gelu_f32 : TOLERANCES.llamacpp_f32).atol;
  const bound = TOLERANCES.llamacpp_quant.rtol * own + base;
  const V = ours.vocab;
  const top = argmaxRows(ours.logProbs, V);
  const theirTop = argmaxRows(theirs, V);
  const refTop = argmaxRows(theirRef, V);
  const flips = theirTop.filter((t, i) => t !== refTop[i]).length;
  console.log(
    `[bound] llama.cpp vs engine ${name} ${type}: max abs log-prob ${diff.toExponential(2)}, llama.cpp vs its dequantized reference ${own.toExponential(2)} (ratio ${(diff / own).toFixed(2)}, bound ${bound.toExponential(2)}), engine vs that reference ${exact.toExponential(2)}; argmax: llama.cpp ${type} differs from its reference at ${flips} of ${T}, the engine at ${top.filter((t, i) => t !== refTop[i]).length}; engine formats ${[...ours.formats].join(',')}`,
  );
  expect(own).toBeGreaterThan(0);
  expect(diff).toBeLessThanOrEqual(bound);
  // The engine reads the type as llama.cpp means it: its log-probabilities are those of the dequantized weights.
  expect(exact).toBeLessThanOrEqual(base);
  // The same argmax as llama.cpp's reference everywhere; llama.cpp's own quantized run may differ from it where its
  // activation rounding flips a close call, and nowhere else from the engine.
  expect(top).toEqual(refTop);
  for (let i = 0; i < T; i++) if (theirTop[i] !== refTop[i]) expect(top[i]).not.toBe(theirTop[i]);
  for (let i = 0; i < T; i++) if (theirTop[i] === refTop[i]) expect(top[i]).toBe(theirTop[i]);
}

describe('llama.cpp vs the engine: quantized and 16-bit GGUF', () => {
  for (const [arch, variant] of CASES) {
    const name = caseName(arch, variant);
    describe(name, () => {
      let small: Promise<JudgeModel> | undefined;
      for (const type of SMALL_BLOCKS) {
        it(type, async () => {
          small ??= judgeModel(join(root, `${arch}-${variant}`), arch, variant, SMALL_BLOCKS, { dequantized: true });
          await judge(name, await small, type);
        });
      }
      let big: Promise<JudgeModel> | undefined;
      for (const type of K_QUANTS) {
        it(type, async () => {
          expect(gpuKeepsAsStored(type), `${type} is converted on load instead of kept as stored`).toBe(true);
          big ??= judgeModel(join(root, `${arch}-${variant}-k`), arch, variant, K_QUANTS, {
            dims: K_QUANT_DIMS,
            dequantized: true,
          });
          await judge(name, await big, type);
        });
      }
    });
  }
});
