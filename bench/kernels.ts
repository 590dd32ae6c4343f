/**
 * `npm run bench:kernels [-- --quick] [-- --json FILE]`: per op and shape, time and GFLOP/s (or GB/s), and for the
 * f32 matmul the ratio to TF.js's WebGPU matMul on the same adapter in the same process.
 * Timings are reported, never asserted (see docs/performance.md for recorded runs).
 */
import { writeFileSync } from 'node:fs';
import { acquireDevice } from '../src/gpu/device.ts';
import { nodeGpu } from '../src/gpu/node.ts';
import { GpuRuntime } from '../src/gpu/runtime.ts';
import { type BenchResult, runBench, table } from './harness.ts';
import { attentionCases } from './cases/attention.ts';
import { layerCases } from './cases/layers.ts';
import { matmulCases } from './cases/matmul.ts';
import { quantCases } from './cases/quant.ts';
import { tfjsMatmul } from './tfjs.ts';

export interface BenchOptions {
  quick: boolean;
  reps: number;
  trials: number;
}

async function main(argv: string[]): Promise<void> {
  const quick = argv.includes('--quick');
  const jsonAt = argv.indexOf('--json');
  const opts: BenchOptions = { quick, reps: quick ? 2 : 5, trials: quick ? 3 : 5 };
  const gpu = await nodeGpu({ cpuFallback: true });
  const rt = new GpuRuntime(await acquireDevice(gpu, { label: 'bench' }));
  const adapter = `${rt.ctx.adapter.vendor} ${rt.ctx.adapter.architecture} ${rt.ctx.adapter.description}`.trim();
  process.stdout.write(`adapter: ${adapter}\nfeatures: ${JSON.stringify(rt.ctx.features)}\n\n`);

  const tf = await tfjsMatmul(gpu);
  const results: BenchResult[] = [];
  const groups = [
    () => matmulCases(rt, tf, opts),
    () => quantCases(rt, opts),
    () => attentionCases(rt, opts),
    () => layerCases(rt, opts),
  ];
  for (const group of groups) {
    for (const r of await group()) {
      results.push(r);
      process.stdout.write(`${r.op} ${r.shape}: ${r.ms.toFixed(3)} ms ${r.note ?? ''}\n`);
    }
  }
  process.stdout.write(`\n${table(results)}\n`);
  if (jsonAt >= 0) writeFileSync(argv[jsonAt + 1]!, JSON.stringify({ adapter, results }, null, 2));
  rt.destroy();
}

runBench(main);
