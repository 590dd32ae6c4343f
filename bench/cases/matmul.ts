/** f32 matmul at training shapes, against TF.js on the same adapter. */
import type { GpuRuntime } from '../../src/gpu/runtime.ts';
import { matmulBackwardInput, matmulBackwardWeight, matmulForward } from '../../src/kernels/matmul.ts';
import type { BenchOptions } from '../kernels.ts';
import { type BenchResult, randomF32, timeOurs } from '../harness.ts';
import type { TfMatmul } from '../tfjs.ts';

/** [N, K, M]: tokens × in × out of real layers (Llama-3.2-1B q_proj-ish, Qwen2.5-0.5B MLP up). */
export const TRAINING_SHAPES: [number, number, number][] = [
  [512, 2048, 2048],
  [2048, 896, 4864],
];
const QUICK_SHAPES: [number, number, number][] = [[256, 512, 512]];

export async function matmulCases(rt: GpuRuntime, tf: TfMatmul, opts: BenchOptions): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  for (const [N, K, M] of opts.quick ? QUICK_SHAPES : TRAINING_SHAPES) {
    const x = rt.uploadF32('bench', 'x', randomF32(N * K));
    const w = rt.uploadF32('bench', 'w', randomF32(M * K));
    const y = rt.zerosF32('bench', 'y', N * M);
    const dx = rt.zerosF32('bench', 'dx', N * K);
    const dw = rt.zerosF32('bench', 'dw', M * K);
    const flops = 2 * N * K * M;
    const shape = `${N}×${K}×${M}`;
    const ours = await timeOurs(rt, (rec) => matmulForward(rt, rec, { x, w, y, N, K, M }), opts);
    const theirs = await tf.time(N, K, M, opts);
    out.push({
      op: 'matmul_f32 forward',
      shape,
      ms: ours,
      flops,
      bytes: 0,
      note: `TF.js ${theirs.toFixed(3)} ms → ratio ${(theirs / ours).toFixed(2)}`,
    });
    out.push({ op: 'tfjs matMul (x·Wᵀ)', shape, ms: theirs, flops, bytes: 0 });
    const bi = await timeOurs(rt, (rec) => matmulBackwardInput(rt, rec, { dy: y, w, dx, N, K, M }), opts);
    out.push({ op: 'matmul_f32 backward_input', shape, ms: bi, flops, bytes: 0 });
    const bw = await timeOurs(rt, (rec) => matmulBackwardWeight(rt, rec, { dy: y, x, dw, N, K, M }), opts);
    out.push({ op: 'matmul_f32 backward_weight', shape, ms: bw, flops, bytes: 0 });
    rt.memory.destroyOwner('bench');
  }
  return out;
}
