/**
 * The GGUF LoRA export applied by llama.cpp against the PEFT export applied (unmerged) by the engine, for every
 * architecture: both files come from the app's own exporters (`adapterExportFiles`, f32) for one random adapter on
 * every projection (B ≠ 0), on the model's F32 GGUF. Next-token log-probabilities over a fixed sequence agree within
 * the F32 bound (Gemma: the f16-GELU bound, with the engine held to the float64 model with the adapter and llama.cpp
 * to the float64 model with its f16 GELU table, as in f32.test.ts; docs/formats.md), and the greedy continuation of a prompt through each
 * side's KV cache (llama.cpp's F32 cache, the engine's `cli generate` path) is the same, token for token.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseModelConfig } from '../../../src/model/config.ts';
import { adapterExportFiles } from '../../../src/train/export-formats.ts';
import { testRuntime } from '../../harness/device.ts';
import { seededRng } from '../../harness/rng.ts';
import { TOLERANCES } from '../../harness/tolerances.ts';
import { refLoraOf, refWeightsOf } from '../../fixtures/onnx-run.ts';
import { randomAdapter } from '../../fixtures/random-adapter.ts';
import { Tape } from '../../reference/model/tape.ts';
import { refForward } from '../../reference/model/transformer.ts';
import { argmaxRows, engineGreedy, engineLogProbs, logSoftmaxRows, maxAbsDiff } from './engine-run.ts';
import { llamaGreedy, llamaLogProbs } from './llama-cpp.ts';
import { CASES, caseName, judgeModel } from './models.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'llamacpp-lora-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const T = 20;
const PROMPT = 6;
const NEW_TOKENS = 12;

describe('llama.cpp with the GGUF LoRA export vs the engine with the PEFT export', () => {
  for (const [arch, variant] of CASES) {
    const name = caseName(arch, variant);
    it(name, async () => {
      const rt = await testRuntime();
      const dir = join(root, `${arch}-${variant}`);
      const { model: m, files } = await judgeModel(dir, arch, variant, ['F32']);
      const desc = parseModelConfig(m.config);
      const rng = seededRng(`llamacpp lora ${name}`);
      const adapter = randomAdapter(desc, rng, { rank: 4, alpha: 8 });
      const peftDir = join(dir, 'peft');
      await mkdir(peftDir, { recursive: true });
      for (const f of await adapterExportFiles('peft', adapter, { facts: null, desc, dtype: 'f32' }))
        await writeFile(join(peftDir, f.name), f.bytes);
      const ggufFiles = await adapterExportFiles('gguf', adapter, { facts: null, desc, dtype: 'f32' });
      const lora = join(dir, 'adapter.gguf');
      await writeFile(lora, ggufFiles.find((f) => f.name.endsWith('.gguf'))!.bytes);

      const ids = Array.from({ length: T }, () => rng.int(0, m.ids.vocab));
      const ours = await engineLogProbs(rt, files.F32!, ids, peftDir);
      const theirs = await llamaLogProbs(files.F32!, ids, ours.vocab, { lora });
      const base = await llamaLogProbs(files.F32!, ids, ours.vocab);
      const diff = maxAbsDiff(ours.logProbs, theirs);
      const gelu = arch === 'gemma' || arch === 'gemma2';
      const tol = gelu ? TOLERANCES.llamacpp_gelu_f32 : TOLERANCES.llamacpp_f32;
      const effect = maxAbsDiff(theirs, base);
      console.log(
        `[bound] llama.cpp + GGUF LoRA vs engine + PEFT ${name}: max abs log-prob ${diff.toExponential(2)} (≤ ${tol.atol}); the adapter moves llama.cpp's by ${effect.toExponential(2)}`,
      );
      // The adapter is applied (it moves the log-probabilities far more than the bound), and applied alike.
      expect(effect).toBeGreaterThan(100 * tol.atol);

      if (gelu) {
        // As for the F32 bases: the engine = the exact float64 model with the adapter, llama.cpp = the float64 model
        // with the adapter and its f16 GELU table.
        const weights = await refWeightsOf(m.dir);
        const refLora = refLoraOf(adapter, desc);
        const exact = refForward(new Tape(), desc, weights, ids, { lora: refLora }).data;
        const table = refForward(new Tape(), desc, weights, ids, { lora: refLora, geluF16Table: true }).data;
        const ourRef = maxAbsDiff(ours.logProbs, logSoftmaxRows(exact, desc.vocab));
        const theirRef = maxAbsDiff(theirs, logSoftmaxRows(table, desc.vocab));
        console.log(
          `[bound] ${name} + LoRA: engine vs float64 ${ourRef.toExponential(2)}, llama.cpp vs float64 with an f16 GELU table ${theirRef.toExponential(2)}`,
        );
        expect(ourRef).toBeLessThanOrEqual(TOLERANCES.llamacpp_engine_vs_reference.atol);
        expect(theirRef).toBeLessThanOrEqual(TOLERANCES.llamacpp_vs_gelu_table.atol);
      }

      expect(diff).toBeLessThanOrEqual(tol.atol);
      expect(argmaxRows(ours.logProbs, ours.vocab)).toEqual(argmaxRows(theirs, ours.vocab));

      const prompt = ids.slice(0, PROMPT);
      const ourText = await engineGreedy(rt, files.F32!, prompt, NEW_TOKENS, peftDir);
      const theirText = await llamaGreedy(files.F32!, prompt, NEW_TOKENS, { lora });
      console.log(`[generate] ${name}: engine ${ourText.join(',')} | llama.cpp ${theirText.join(',')}`);
      expect(theirText).toEqual(ourText);
    });
  }
});
