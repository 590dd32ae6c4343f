/**
 * `npm run bench:train [-- --quick]`: tokens/s of LoRA training steps (rank 16 on all seven projections, gradient
 * checkpointing, f32 base) on two model sizes, and the step's achieved FLOP/s as a fraction of the best matmul FLOP/s
 * measured on the same adapter. FLOPs are counted, not estimated from the parameter count:
 *   projections: (forward + recomputed forward + input gradient) 3 × 2·tokens·in·out per projection and layer
 *   LoRA: 4 skinny products forward (+ recompute) and 4 backward, 2·tokens·R·(in + out) each
 *   attention: causal QKᵀ and PV, 2·T²·D·H forward, twice that again for the recompute, 2.5× forward for backward
 *   LM head: 2·tokens·V·C for the logits and again for the hidden-state gradient
 */
import { acquireDevice } from '../src/gpu/device.ts';
import { nodeGpu } from '../src/gpu/node.ts';
import { GpuRuntime } from '../src/gpu/runtime.ts';
import { matmulForward } from '../src/kernels/matmul.ts';
import { LORA_TARGETS } from '../src/model/allocations.ts';
import { blockDims, projectionShape } from '../src/model/block-buffers.ts';
import { type ModelDescription, parseModelConfig } from '../src/model/config.ts';
import { createLora, peftInit } from '../src/model/lora-state.ts';
import { ModelEngine } from '../src/model/model.ts';
import { trainConfig } from '../src/schema/train.ts';
import { microBatch } from '../src/train/batches.ts';
import { LoraTrainer } from '../src/train/trainer.ts';
import { randomF32, runBench, timeOurs } from './harness.ts';
import { randomModelWeights } from './random-model.ts';

interface Size {
  name: string;
  config: Record<string, unknown>;
  T: number;
}

const llama = (
  hidden: number,
  layers: number,
  heads: number,
  kvHeads: number,
  intermediate: number,
  vocab: number,
) => ({
  model_type: 'llama',
  hidden_size: hidden,
  num_hidden_layers: layers,
  num_attention_heads: heads,
  num_key_value_heads: kvHeads,
  intermediate_size: intermediate,
  vocab_size: vocab,
  torch_dtype: 'float32',
});

const QUICK: Size[] = [
  { name: 'llama C256 L4 V4096', config: llama(256, 4, 4, 2, 688, 4096), T: 128 },
  { name: 'llama C512 L4 V8192', config: llama(512, 4, 8, 4, 1376, 8192), T: 128 },
];
const FULL: Size[] = [
  { name: 'SmolLM2-135M shape', config: llama(576, 30, 9, 3, 1536, 49152), T: 512 },
  { name: 'Qwen2.5-0.5B shape (no bias)', config: llama(896, 24, 14, 2, 4864, 151936), T: 512 },
];

function stepFlops(d: ModelDescription, T: number, R: number): number {
  const dims = blockDims(d, 1, T);
  let perLayer = 0;
  for (const t of LORA_TARGETS) {
    const { K, M } = projectionShape(dims, t);
    perLayer += 3 * 2 * T * K * M + 6 * 2 * T * R * (K + M);
  }
  const attnFwd = 2 * T * T * d.headDim * d.heads;
  perLayer += attnFwd * (2 + 2.5);
  return d.layers * perLayer + 2 * 2 * T * d.vocab * d.hidden;
}

async function main(argv: string[]): Promise<void> {
  const quick = argv.includes('--quick');
  const gpu = await nodeGpu({ cpuFallback: true });
  const rt = new GpuRuntime(await acquireDevice(gpu, { label: 'bench-train' }));
  process.stdout.write(
    `adapter: ${rt.ctx.adapter.vendor} ${rt.ctx.adapter.architecture} ${rt.ctx.adapter.description}\n`,
  );
  // The best matmul FLOP/s on this adapter: our f32 matmul on square shapes.
  let best = 0;
  for (const n of quick ? [256, 512] : [1024, 2048]) {
    const x = rt.uploadF32('bench', 'x', randomF32(n * n));
    const w = rt.uploadF32('bench', 'w', randomF32(n * n));
    const y = rt.zerosF32('bench', 'y', n * n);
    const ms = await timeOurs(rt, (rec) => matmulForward(rt, rec, { x, w, y, N: n, K: n, M: n }), {
      reps: 2,
      trials: 3,
    });
    best = Math.max(best, (2 * n ** 3) / (ms * 1e6));
    rt.memory.destroyOwner('bench');
  }
  process.stdout.write(
    `best matmul: ${best.toFixed(1)} GFLOP/s\n\n| model | tokens/step | step ms | tokens/s | GFLOP/step | GFLOP/s | ratio to best matmul |\n|---|---:|---:|---:|---:|---:|---:|\n`,
  );
  const R = 16;
  const steps = quick ? 2 : 5;
  for (const size of quick ? QUICK : FULL) {
    const d = parseModelConfig(size.config);
    const weights = randomModelWeights(rt, d, 'bench-weights');
    const config = trainConfig(null, { lora: { rank: R, alpha: 2 * R } });
    const lora = createLora(
      rt,
      d,
      { ...config.lora, layers: Array.from({ length: d.layers }, (_, i) => i) },
      peftInit(1),
    );
    const engine = new ModelEngine(rt, weights, 1, size.T, lora, 'checkpointed');
    const trainer = new LoraTrainer(rt, engine, lora, config, steps + 1);
    const ids = Array.from({ length: size.T }, (_, i) => (i * 7919) % d.vocab);
    const batch = microBatch([{ ids, mask: ids.map(() => 1) }], size.T);
    await trainer.trainStep([batch]); // warm-up: pipeline compilation
    const start = performance.now();
    for (let s = 0; s < steps; s++) await trainer.trainStep([batch]);
    const ms = (performance.now() - start) / steps;
    const flops = stepFlops(d, size.T, R);
    const gflops = flops / (ms * 1e6);
    process.stdout.write(
      `| ${size.name} | ${size.T} | ${ms.toFixed(0)} | ${((size.T * 1000) / ms).toFixed(1)} | ${(flops / 1e9).toFixed(2)} | ${gflops.toFixed(2)} | ${(gflops / best).toFixed(2)} |\n`,
    );
    trainer.destroy();
    engine.destroy();
    rt.memory.destroyOwner('lora');
    rt.memory.destroyOwner('bench-weights');
  }
  rt.destroy();
}

runBench(main);
