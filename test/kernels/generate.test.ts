/** Generation with the KV cache picks exactly the tokens that repeated full forward passes choose greedily. */
import { describe, expect, it } from 'vitest';
import { LORA_TARGETS } from '../../src/model/allocations.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { generate } from '../../src/model/generate.ts';
import { ModelEngine } from '../../src/model/model.ts';
import { argmax } from '../../src/model/sampling.ts';
import { expectClose } from '../harness/allclose.ts';
import { testRuntime } from '../harness/device.ts';
import { TOLERANCES } from '../harness/tolerances.ts';
import { uploadRefLora, uploadRefWeights } from '../harness/model-weights.ts';
import { seededRng } from '../harness/rng.ts';
import { randomLora, randomWeights } from '../reference/model/random.ts';
import { TINY_CONFIGS } from '../reference/model/tiny-configs.ts';

describe('generation with a KV cache', () => {
  for (const arch of ['llama', 'gemma2', 'qwen3', 'mistral']) {
    it(`${arch}: greedy tokens equal full forward passes (with a LoRA adapter)`, async () => {
      const rt = await testRuntime();
      const rng = seededRng(`generate ${arch}`);
      const d = parseModelConfig(TINY_CONFIGS[arch]!);
      const weights = randomWeights(d, rng, 0.6);
      const gw = uploadRefWeights(rt, d, weights);
      const lora = uploadRefLora(rt, d, randomLora(d, rng, 2, 4, LORA_TARGETS, weights), 2, 4, LORA_TARGETS);
      const prompt = Array.from({ length: 5 }, () => rng.int(0, d.vocab));
      const steps = 6;
      const engine = new ModelEngine(rt, gw, 1, prompt.length + steps, lora, 'inference');

      const streamed: number[] = [];
      const stepLogits: Float32Array[] = [];
      const result = await generate(rt, engine, prompt, {
        maxNewTokens: steps,
        temperature: 0,
        eosTokenIds: [],
        onToken: (t) => streamed.push(t),
        onLogits: (l) => stepLogits.push(l.slice()),
      });
      expect(result.stop).toBe('length');
      expect(result.tokens).toEqual(streamed);

      const seq = [...prompt];
      const V = d.vocab;
      for (let i = 0; i < steps; i++) {
        const all = await engine.logits({ ids: Uint32Array.from(seq), B: 1, T: seq.length });
        const last = all.subarray((seq.length - 1) * V, seq.length * V);
        // The cached step computes the same numbers as the full pass, not just the same winner.
        expectClose(`${arch} step ${i} logits`, stepLogits[i]!, last, TOLERANCES.model_f32);
        seq.push(argmax(last));
      }
      expect(result.tokens).toEqual(seq.slice(prompt.length));
      engine.destroy();
      rt.memory.destroyOwner('test-lora');
      rt.memory.destroyOwner(gw.owner);
    });
  }

  it('stops at an end-of-sequence id', async () => {
    const rt = await testRuntime();
    const rng = seededRng('generate eos');
    const d = parseModelConfig(TINY_CONFIGS.llama!);
    const gw = uploadRefWeights(rt, d, randomWeights(d, rng, 0.6));
    const engine = new ModelEngine(rt, gw, 1, 12, null, 'inference');
    const prompt = [1, 2, 3];
    const free = await generate(rt, engine, prompt, { maxNewTokens: 4, temperature: 0, eosTokenIds: [] });
    const eos = free.tokens[1]!;
    const stopped = await generate(rt, engine, prompt, { maxNewTokens: 4, temperature: 0, eosTokenIds: [eos] });
    expect(stopped.stop).toBe('eos');
    expect(stopped.tokens).toEqual(free.tokens.slice(0, free.tokens.indexOf(eos) + 1));
    engine.destroy();
    rt.memory.destroyOwner(gw.owner);
  });
});
