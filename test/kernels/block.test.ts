/**
 * The composed check: one transformer block (norms, q/k/v/o with LoRA, RoPE, attention, MLP with LoRA on all seven
 * projections) forward and backward on the GPU equals the float64 composition of the reference ops.
 */
import { describe, expect, it } from 'vitest';
import { LORA_TARGETS } from '../../src/model/allocations.ts';
import { allocateSaved, allocateScratch, blockDims } from '../../src/model/block-buffers.ts';
import { type BlockLora, blockBackward, blockForward } from '../../src/model/block.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { MODULE_GROUP } from '../../src/model/lora-state.ts';
import { ropeConfigOf } from '../../src/model/rope-config.ts';
import { uploadRopeTable } from '../../src/kernels/rope.ts';
import { expectClose } from '../harness/allclose.ts';
import { testRuntime } from '../harness/device.ts';
import { uploadRefWeights } from '../harness/model-weights.ts';
import { poisonedF32 } from '../harness/poison.ts';
import { seededRng } from '../harness/rng.ts';
import { TOLERANCES } from '../harness/tolerances.ts';
import { randomLora, randomWeights } from '../reference/model/random.ts';
import { Tape, Tensor } from '../reference/model/tape.ts';
import { TINY_CONFIGS } from '../reference/model/tiny-configs.ts';
import { refBlock } from '../reference/model/transformer.ts';

describe('one transformer block, GPU vs float64', () => {
  for (const arch of ['llama', 'qwen2', 'qwen3', 'mistral', 'gemma2', 'llama3_rope_partial']) {
    it(arch, async () => {
      const rt = await testRuntime();
      const rng = seededRng(`block ${arch}`);
      const d = parseModelConfig(TINY_CONFIGS[arch]!);
      const [B, T, R] = [2, 7, 3];
      const dims = blockDims(d, B, T);
      const { N, C } = dims;
      const weights = randomWeights(d, rng);
      const lora = randomLora(d, rng, R, 2 * R, LORA_TARGETS, weights);
      const x = Float64Array.from({ length: N * C }, () => rng.normal());
      const G = Float64Array.from({ length: N * C }, () => rng.normal());

      // float64: each row of the batch separately, gradients accumulate into the shared tensors.
      const refOut = new Float64Array(N * C);
      const refDx = new Float64Array(N * C);
      for (let b = 0; b < B; b++) {
        const tape = new Tape();
        const xb = new Tensor(x.slice(b * T * C, (b + 1) * T * C), [T, C], true);
        const out = refBlock(tape, d, weights, xb, 0, { lora, positions: Array.from({ length: T }, (_, i) => i) });
        refOut.set(out.data, b * T * C);
        const g = G.subarray(b * T * C, (b + 1) * T * C);
        const loss = new Tensor(new Float64Array([out.data.reduce((a, v, i) => a + v * g[i]!, 0)]), [1]);
        tape.record(loss, (lg) => out.accumulate(g.map((v) => v * lg[0]!)));
        tape.backward(loss);
        refDx.set(xb.grad!, b * T * C);
      }

      // GPU.
      const own = 'test';
      const p = 'model.layers.0';
      const bw = uploadRefWeights(rt, d, weights, own).layers[0]!;
      const blora: BlockLora = {};
      for (const t of LORA_TARGETS) {
        const ad = lora.modules.get(`${p}.${MODULE_GROUP[t]}.${t}`)!;
        blora[t] = {
          A: rt.uploadF32(own, `${t}.A`, Float32Array.from(ad.A.data)),
          B: rt.uploadF32(own, `${t}.B`, Float32Array.from(ad.B.data)),
          dA: rt.zerosF32(own, `${t}.dA`, ad.A.size),
          dB: rt.zerosF32(own, `${t}.dB`, ad.B.size),
          R,
          scale: lora.scaling,
          moduleId: LORA_TARGETS.indexOf(t),
        };
      }
      const positions = rt.memory.upload(
        own,
        'positions',
        Uint32Array.from({ length: N }, (_, i) => i % T),
      ).buffer;
      const ranks = Object.fromEntries(LORA_TARGETS.map((t) => [t, R]));
      const saved = allocateSaved(rt, own, d, dims, ranks);
      const scratch = allocateScratch(rt, own, d, dims, ranks);
      const xb = rt.uploadF32(own, 'x', Float32Array.from(x));
      const out = poisonedF32(rt, 'out', N * C);
      const dout = rt.uploadF32(own, 'dout', Float32Array.from(G));
      const dx = poisonedF32(rt, 'dx', N * C);
      const ctx = {
        rt,
        rec: rt.recorder(`block ${arch}`),
        d,
        layer: 0,
        dims,
        positions,
        ropeTurns: uploadRopeTable(rt, own, ropeConfigOf(d)),
        lora: blora,
        dropout: { p: 0, seed: 0 },
      };
      await blockForward(ctx, bw, xb, out, saved, scratch);
      await blockBackward(ctx, bw, xb, dout, dx, saved, scratch);
      await ctx.rec.submit();

      expectClose(`${arch} out`, await rt.readF32(out), refOut, TOLERANCES.block_f32);
      expectClose(`${arch} dx`, await rt.readF32(dx), refDx, TOLERANCES.block_f32);
      for (const t of LORA_TARGETS) {
        const ad = lora.modules.get(`${p}.${MODULE_GROUP[t]}.${t}`)!;
        expectClose(`${arch} ${t} dA`, await rt.readF32(blora[t]!.dA), ad.A.grad!, TOLERANCES.block_f32);
        expectClose(`${arch} ${t} dB`, await rt.readF32(blora[t]!.dB), ad.B.grad!, TOLERANCES.block_f32);
      }
      expect(rt.memory.stats().byOwner[own]!.liveBytes).toBeGreaterThan(0);
      rt.memory.destroyOwner(own);
      rt.memory.destroyOwner('test-output');
    });
  }
});
