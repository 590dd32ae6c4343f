/**
 * `npm run bench:train [-- --quick] [-- --models qwen0.5b,qwen1.5b --bases nf4,f16 --T 512 --steps 5 --json FILE]`
 * (`--calibrate 1024,2048`: the square matmul sizes the best matmul FLOP/s is taken from):
 * tokens/s of LoRA training steps (rank 16 on all seven projections, gradient checkpointing, batch 1), the step's
 * achieved FLOP/s as a fraction of the best matmul FLOP/s measured on the same adapter, the peak of the tracked GPU
 * buffers, and the host side of a steady step: the WebGPU calls it makes (counted by wrapping the device,
 * bench/call-counts.ts) and its JS time (a step with every dispatch elided, so the GPU has nothing to run).
 * FLOPs are counted, not estimated from the parameter count:
 *   projections: (forward + recomputed forward + input gradient) 3 × 2·tokens·in·out per projection and layer
 *   LoRA: 4 skinny products forward (+ recompute) and 4 backward, 2·tokens·R·(in + out) each
 *   attention: causal QKᵀ and PV, 2·T²·D·H forward, twice that again for the recompute, 2.5× forward for backward
 *   LM head: 2·tokens·V·C for the logits and again for the hidden-state gradient
 */
import { writeFileSync } from 'node:fs';
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
import { type CallCounts, countCalls } from './call-counts.ts';
import { randomF32, runBench, timeOurs } from './harness.ts';
import { type BenchBase, randomModelWeights } from './random-model.ts';

interface Size {
  name: string;
  config: Record<string, unknown>;
}

const llama = (
  hidden: number,
  layers: number,
  heads: number,
  kvHeads: number,
  intermediate: number,
  vocab: number,
  tie = false,
) => ({
  model_type: 'llama',
  hidden_size: hidden,
  num_hidden_layers: layers,
  num_attention_heads: heads,
  num_key_value_heads: kvHeads,
  intermediate_size: intermediate,
  vocab_size: vocab,
  tie_word_embeddings: tie,
  torch_dtype: 'float32',
});

/** Shapes by name; the Qwen ones are Qwen2.5's (tied embeddings; the q/k/v biases left out). */
export const SIZES: Record<string, Size> = {
  'tiny-c256': { name: 'llama C256 L4 V4096', config: llama(256, 4, 4, 2, 688, 4096) },
  'tiny-c512': { name: 'llama C512 L4 V8192', config: llama(512, 4, 8, 4, 1376, 8192) },
  smollm: { name: 'SmolLM2-135M shape', config: llama(576, 30, 9, 3, 1536, 49152, true) },
  'qwen0.5b': { name: 'Qwen2.5-0.5B shape (no bias)', config: llama(896, 24, 14, 2, 4864, 151936, true) },
  'qwen1.5b': { name: 'Qwen2.5-1.5B shape (no bias)', config: llama(1536, 28, 12, 2, 8960, 151936, true) },
};

export function stepFlops(d: ModelDescription, T: number, R: number): number {
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

interface Result {
  /** The SIZES key (what bench/gpu/peft_bench.py is given). */
  key: string;
  model: string;
  base: BenchBase;
  T: number;
  stepMs: number;
  tokensPerS: number;
  gflopPerStep: number;
  gflops: number;
  ratio: number;
  peakMiB: number;
  /** WebGPU calls of one steady step. */
  calls: CallCounts;
  /** Host time of one steady step (dispatches elided). */
  jsMs: number;
}

function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv: string[]): Promise<void> {
  const quick = argv.includes('--quick');
  const models = (option(argv, '--models') ?? (quick ? 'tiny-c256,tiny-c512' : 'smollm,qwen0.5b')).split(',');
  const bases = (option(argv, '--bases') ?? 'f32').split(',') as BenchBase[];
  const T = Number(option(argv, '--T') ?? (quick ? 128 : 512));
  const steps = Number(option(argv, '--steps') ?? (quick ? 2 : 5));
  const jsonAt = option(argv, '--json');
  for (const m of models)
    if (!SIZES[m]) throw new Error(`unknown model "${m}"; one of ${Object.keys(SIZES).join(', ')}`);
  for (const b of bases)
    if (!['f32', 'f16', 'nf4'].includes(b)) throw new Error(`unknown base "${b}": f32, f16 or nf4`);

  const gpu = await nodeGpu({ cpuFallback: true });
  const ctx = await acquireDevice(gpu, { label: 'bench-train' });
  const counter = countCalls(ctx.device);
  const rt = new GpuRuntime(ctx);
  const adapter = `${rt.ctx.adapter.vendor} ${rt.ctx.adapter.architecture} ${rt.ctx.adapter.description}`.trim();
  process.stdout.write(`adapter: ${adapter}\nfeatures: ${JSON.stringify(rt.ctx.features)}\n`);
  // The best matmul FLOP/s on this adapter: our f32 matmul on square shapes.
  let best = 0;
  const calibrate = option(argv, '--calibrate')?.split(',').map(Number) ?? (quick ? [256, 512] : [1024, 2048]);
  for (const n of calibrate) {
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
  process.stdout.write(`best matmul: ${best.toPrecision(3)} GFLOP/s\n\n`);

  const R = 16;
  const results: Result[] = [];
  for (const key of models) {
    const size = SIZES[key]!;
    const d = parseModelConfig(size.config);
    for (const base of bases) {
      const weights = await randomModelWeights(rt, d, 'bench-weights', base);
      const config = trainConfig(null, { lora: { rank: R, alpha: 2 * R } });
      const lora = createLora(
        rt,
        d,
        { ...config.lora, layers: Array.from({ length: d.layers }, (_, i) => i) },
        peftInit(1),
      );
      rt.memory.resetPeak();
      const engine = new ModelEngine(rt, weights, 1, T, lora, 'checkpointed');
      const trainer = new LoraTrainer(rt, engine, lora, config, steps + 3);
      const ids = Array.from({ length: T }, (_, i) => (i * 7919) % d.vocab);
      const batch = microBatch([{ ids, mask: ids.map(() => 1) }], T);
      await trainer.trainStep([batch]); // warm-up: pipeline compilation, the step's bind groups and uniform buffer
      let calls: CallCounts = { ...counter.counts };
      const start = performance.now();
      for (let s = 0; s < steps; s++) {
        counter.reset();
        await trainer.trainStep([batch]);
        calls = { ...counter.counts };
      }
      const ms = (performance.now() - start) / steps;
      counter.elide = true;
      const hostStart = performance.now();
      await trainer.trainStep([batch]);
      const jsMs = performance.now() - hostStart;
      counter.elide = false;
      const flops = stepFlops(d, T, R);
      const gflops = flops / (ms * 1e6);
      results.push({
        key,
        model: size.name,
        base,
        T,
        stepMs: ms,
        tokensPerS: (T * 1000) / ms,
        gflopPerStep: flops / 1e9,
        gflops,
        ratio: gflops / best,
        peakMiB: rt.memory.stats().peakBytes / 2 ** 20,
        calls,
        jsMs,
      });
      // Written after every configuration, so a run cut short by a time limit still leaves what it measured.
      if (jsonAt) writeFileSync(jsonAt, JSON.stringify({ adapter, bestMatmulGflops: best, results }, null, 2));
      trainer.destroy();
      engine.destroy();
      rt.memory.destroyOwner('lora');
      rt.memory.destroyOwner('bench-weights');
    }
  }
  process.stdout.write(
    '| model | base | tokens/step | step ms | tokens/s | GFLOP/step | GFLOP/s | ratio to best matmul | peak MiB |\n' +
      '|---|---|---:|---:|---:|---:|---:|---:|---:|\n',
  );
  for (const r of results)
    process.stdout.write(
      `| ${r.model} | ${r.base} | ${r.T} | ${r.stepMs.toFixed(0)} | ${r.tokensPerS.toFixed(1)} | ${r.gflopPerStep.toFixed(2)} | ${r.gflops.toPrecision(3)} | ${r.ratio.toFixed(2)} | ${r.peakMiB.toFixed(0)} |\n`,
    );
  process.stdout.write(
    '\nper steady step:\n\n| model | base | createBuffer | createBindGroup | submits | passes | dispatches | readbacks | writeBuffer (bytes) | JS ms |\n' +
      '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n',
  );
  for (const r of results) {
    const c = r.calls;
    process.stdout.write(
      `| ${r.model} | ${r.base} | ${c.createBuffer} | ${c.createBindGroup} | ${c.submits} | ${c.passes} | ${c.dispatches} | ${c.readbacks} | ${c.writeBuffers} (${c.writeBytes}) | ${r.jsMs.toFixed(1)} |\n`,
    );
  }
  rt.destroy();
}

runBench(main);
