/**
 * Packing on the GPU: three short examples packed into ONE row (segments, positions restarting, no target across a
 * boundary) give the same summed loss and the same LoRA gradients as the three examples unpacked, one per row.
 * Every example's first token is learned, so a target that crossed a boundary would add a token to the loss.
 * RoPE depends only on position differences, so positions that failed to restart would show here only as rounding:
 * the unit tests (test/unit/train/packing.test.ts) check them exactly.
 */
import { describe, expect, it } from 'vitest';
import { LORA_TARGETS } from '../../src/model/allocations.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { ModelEngine } from '../../src/model/model.ts';
import { type Example, microBatch, trainedTokens } from '../../src/train/batches.ts';
import { packExamples } from '../../src/train/packing.ts';
import { expectClose, formatReport } from '../harness/allclose.ts';
import { testRuntime } from '../harness/device.ts';
import { uploadRefLora, uploadRefWeights } from '../harness/model-weights.ts';
import { seededRng } from '../harness/rng.ts';
import { TOLERANCES } from '../harness/tolerances.ts';
import { randomLora, randomWeights } from '../reference/model/random.ts';
import { TINY_CONFIGS } from '../reference/model/tiny-configs.ts';

describe('packed micro-batches', () => {
  // llama: plain causal attention; gemma2: sliding window 3 and soft-capped attention logits inside the segments.
  for (const arch of ['llama', 'gemma2']) {
    it(`${arch}: 3 examples in one row give the loss and LoRA gradients of 3 unpacked rows`, async () => {
      const rt = await testRuntime();
      const rng = seededRng(`packing ${arch}`);
      const d = parseModelConfig(TINY_CONFIGS[arch]!);
      const weights = randomWeights(d, rng);
      const [R, alpha] = [4, 8];
      const gw = uploadRefWeights(rt, d, weights);
      const gl = uploadRefLora(rt, d, randomLora(d, rng, R, alpha, LORA_TARGETS, weights), R, alpha, LORA_TARGETS);
      const T = 24;
      // Lengths 4–7 (at most 21 tokens, so the packed row has padding); first token learned, the rest at random.
      const examples: Example[] = [0, 1, 2].map(() => {
        const n = rng.int(4, 8);
        return {
          ids: Array.from({ length: n }, () => rng.int(0, d.vocab)),
          mask: Array.from({ length: n }, (_, t) => (t === 0 || rng.next() < 0.8 ? 1 : 0)),
        };
      });
      const rows = packExamples(examples, T);
      expect(rows.map((r) => r.sources)).toEqual([[0, 1, 2]]);
      const packed = microBatch(rows, T);
      const plain = microBatch(examples, T);
      expect([packed.B, plain.B]).toEqual([1, 3]);
      expect(trainedTokens([packed])).toBe(trainedTokens([plain]));

      const engine = new ModelEngine(rt, gw, 3, T, gl);
      const run = async (b: typeof plain) => {
        // scale 1: the summed loss over trained tokens, and its gradients.
        await engine.trainMicroBatch(b, { scale: 1, accumulate: false });
        const loss = await engine.readLoss();
        const grads = await Promise.all(
          gl.modules.map(async (m) => ({
            path: m.path,
            dA: await rt.readF32(m.params.dA),
            dB: await rt.readF32(m.params.dB),
          })),
        );
        return { loss, grads };
      };
      const want = await run(plain);
      const got = await run(packed);
      const tol = TOLERANCES.packing_f32;
      const lossReport = expectClose(`${arch} summed loss`, [got.loss], [want.loss], tol);
      console.log(formatReport(`${arch} summed loss (${trainedTokens([plain])} tokens)`, lossReport, tol));
      // The comparison means something only if the gradients are not all ~0.
      expect(want.grads.some((g) => g.dA.some((v) => Math.abs(v) > 1e-3))).toBe(true);
      let [maxAbs, normRel, count] = [0, 0, 0];
      for (const [i, g] of got.grads.entries()) {
        const w = want.grads[i]!;
        for (const [name, a, b] of [
          ['dA', g.dA, w.dA],
          ['dB', g.dB, w.dB],
        ] as const) {
          const r = expectClose(`${arch} ${g.path} ${name} packed vs unpacked`, a, b, tol);
          [maxAbs, normRel, count] = [Math.max(maxAbs, r.maxAbs), Math.max(normRel, r.normRel), count + r.count];
        }
      }
      console.log(
        `${arch} LoRA gradients (${count} values): max abs ${maxAbs.toExponential(3)}, worst norm rel ${normRel.toExponential(3)}`,
      );
      engine.destroy();
      rt.memory.destroyOwner('test-lora');
      rt.memory.destroyOwner(gw.owner);
    });
  }
});
