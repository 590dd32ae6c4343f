/**
 * The whole model on the GPU against the float64 reference model: logits with and without LoRA adapters, and the
 * loss over masked tokens with its LoRA gradients, for every architecture the engine trains.
 */
import { describe, expect, it } from 'vitest';
import { LORA_TARGETS } from '../../src/model/allocations.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { IGNORE_INDEX, ModelEngine } from '../../src/model/model.ts';
import { expectClose } from '../harness/allclose.ts';
import { testRuntime } from '../harness/device.ts';
import { uploadRefLora, uploadRefWeights } from '../harness/model-weights.ts';
import { seededRng } from '../harness/rng.ts';
import { TOLERANCES } from '../harness/tolerances.ts';
import { randomLora, randomWeights } from '../reference/model/random.ts';
import { add } from '../reference/model/ops.ts';
import { Tape } from '../reference/model/tape.ts';
import { TINY_CONFIGS } from '../reference/model/tiny-configs.ts';
import { refForward, refLoss } from '../reference/model/transformer.ts';

describe('model engine vs float64 reference', () => {
  for (const arch of ['llama', 'qwen2', 'qwen3', 'gemma2', 'mistral', 'llama3_rope_partial', 'gemma']) {
    it(`${arch}: logits (base and with LoRA), loss and LoRA gradients`, async () => {
      const rt = await testRuntime();
      const rng = seededRng(`model ${arch}`);
      const d = parseModelConfig(TINY_CONFIGS[arch]!);
      const weights = randomWeights(d, rng);
      const [R, alpha] = [4, 8];
      const lora = randomLora(d, rng, R, alpha, LORA_TARGETS, weights);
      const [B, T] = [2, 6];
      const ids = Array.from({ length: B * T }, () => rng.int(0, d.vocab));
      const rows = [ids.slice(0, T), ids.slice(T)];

      const gw = uploadRefWeights(rt, d, weights);
      const base = new ModelEngine(rt, gw, B, T, null, 'inference');
      const baseLogits = await base.logits({ ids: Uint32Array.from(ids), B, T });
      const refBase = rows.flatMap((r) => Array.from(refForward(new Tape(), d, weights, r).data));
      expectClose(`${arch} base logits`, baseLogits, refBase, TOLERANCES.model_f32);
      base.destroy();

      const gl = uploadRefLora(rt, d, lora, R, alpha, LORA_TARGETS);
      const engine = new ModelEngine(rt, gw, B, T, gl);
      const loraLogits = await engine.logits({ ids: Uint32Array.from(ids), B, T });
      const refLora = rows.flatMap((r) => Array.from(refForward(new Tape(), d, weights, r, { lora }).data));
      expectClose(`${arch} LoRA logits`, loraLogits, refLora, TOLERANCES.model_f32);
      // The adapter must change the output (B is non-zero), or the comparison above proves nothing about LoRA.
      expect(loraLogits.some((v, i) => Math.abs(v - baseLogits[i]!) > 1e-3)).toBe(true);

      // Loss over masked tokens: per row, predict ids[t+1]; train only where the mask is 1.
      const masks = [
        [0, 1, 1, 0, 1],
        [1, 0, 1, 1, 1],
      ];
      const trained = masks.flat().reduce((a, b) => a + b, 0);
      const targets = new Uint32Array(B * T).fill(IGNORE_INDEX);
      rows.forEach((r, b) => masks[b]!.forEach((m, t) => m && (targets[b * T + t] = r[t + 1]!)));
      await engine.trainMicroBatch(
        { ids: Uint32Array.from(ids), B, T, targets },
        { scale: 1 / trained, accumulate: false },
      );
      const tape = new Tape();
      const losses = rows.map((r, b) => refLoss(tape, d, weights, r, masks[b]!, { lora, denominator: trained }));
      const total = add(tape, losses[0]!, losses[1]!);
      const refTotal = total.data[0]!;
      tape.backward(total);
      expect(Math.abs((await engine.readLoss()) - refTotal)).toBeLessThanOrEqual(1e-4 * Math.abs(refTotal) + 1e-5);
      for (const m of gl.modules) {
        const ref = lora.modules.get(m.path)!;
        expectClose(`${arch} ${m.path} dA`, await rt.readF32(m.params.dA), ref.A.grad!, TOLERANCES.model_grad_f32);
        expectClose(`${arch} ${m.path} dB`, await rt.readF32(m.params.dB), ref.B.grad!, TOLERANCES.model_grad_f32);
      }
      // Gradient checkpointing recomputes each block from its input: the same gradients, bit for bit.
      const want = await Promise.all(
        gl.modules.map(async (m) => [await rt.readF32(m.params.dA), await rt.readF32(m.params.dB)]),
      );
      const ckpt = new ModelEngine(rt, gw, B, T, gl, 'checkpointed');
      await ckpt.trainMicroBatch(
        { ids: Uint32Array.from(ids), B, T, targets },
        { scale: 1 / trained, accumulate: false },
      );
      expect(await ckpt.readLoss()).toBe(await engine.readLoss());
      for (const [i, m] of gl.modules.entries()) {
        expect(Array.from(await rt.readF32(m.params.dA)), `${m.path} dA with checkpointing`).toEqual(
          Array.from(want[i]![0]!),
        );
        expect(Array.from(await rt.readF32(m.params.dB)), `${m.path} dB with checkpointing`).toEqual(
          Array.from(want[i]![1]!),
        );
      }
      ckpt.destroy();
      engine.destroy();
      rt.memory.destroyOwner('test-lora');
      rt.memory.destroyOwner(gw.owner);
    });
  }
});

describe('engine memory', () => {
  it('allocates exactly the buffers the memory plan counts', async () => {
    const { engineSpecs, specBytes } = await import('../../src/model/engine-buffers.ts');
    const rt = await testRuntime();
    const rng = seededRng('engine memory');
    const d = parseModelConfig(TINY_CONFIGS.qwen3!);
    const weights = randomWeights(d, rng);
    const gw = uploadRefWeights(rt, d, weights);
    const gl = uploadRefLora(rt, d, randomLora(d, rng, 3, 6, LORA_TARGETS, weights), 3, 6, LORA_TARGETS);
    for (const mode of ['train', 'checkpointed', 'inference'] as const) {
      const before = rt.memory.stats().liveBytes;
      const engine = new ModelEngine(rt, gw, 2, 5, gl, mode);
      const used = rt.memory.stats().liveBytes - before;
      const ranks = Object.fromEntries(LORA_TARGETS.map((t) => [t, 3]));
      const s = engineSpecs(d, {
        maxB: 2,
        maxT: 5,
        ranks,
        mode,
        maxBindingBytes: rt.device.limits.maxStorageBufferBindingSize,
      });
      const planned =
        specBytes(s.activations) +
        s.saved.reduce((a, x) => a + specBytes(x), 0) +
        specBytes(s.blockScratch) +
        specBytes(s.engineScratch);
      const ropeTable = d.rotaryDim * 4; // rotDim/2 frequency pairs of two u32
      expect(used, mode).toBe(planned + ropeTable);
      engine.destroy();
      expect(rt.memory.stats().liveBytes).toBe(before);
    }
    rt.memory.destroyOwner('test-lora');
    rt.memory.destroyOwner(gw.owner);
  });
});
