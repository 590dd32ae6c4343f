/** Quantized-weight matmuls (q8_0, q4_0, nf4) against our f32 matmul on the same shape. */
import type { GpuRuntime } from '../../src/gpu/runtime.ts';
import { linearForward } from '../../src/kernels/linear.ts';
import { matmulForward } from '../../src/kernels/matmul.ts';
import { quantizeToNewWeight } from '../../src/kernels/quantize.ts';
import type { BenchOptions } from '../kernels.ts';
import { type BenchResult, randomF32, timeOurs } from '../harness.ts';

export async function quantCases(rt: GpuRuntime, opts: BenchOptions): Promise<BenchResult[]> {
  const [N, K, M] = opts.quick ? [256, 512, 512] : [512, 2048, 2048];
  const shape = `${N}×${K}×${M}`;
  const flops = 2 * N * K * M;
  const x = rt.uploadF32('bench', 'x', randomF32(N * K));
  const wf = rt.uploadF32('bench', 'w', randomF32(M * K));
  const y = rt.zerosF32('bench', 'y', N * M);
  const f32 = await timeOurs(rt, (rec) => matmulForward(rt, rec, { x, w: wf, y, N, K, M }), opts);
  const out: BenchResult[] = [];
  for (const format of ['q8_0', 'q4_0', 'nf4'] as const) {
    const rec = rt.recorder('quantize');
    const w = await quantizeToNewWeight(rt, rec, {
      src: wf,
      srcFormat: 'f32',
      format,
      rows: M,
      cols: K,
      owner: 'bench',
      label: `w-${format}`,
    });
    await rec.submit();
    const ms = await timeOurs(rt, (r) => linearForward(rt, r, { x, w, y, N, K, M }), opts);
    out.push({
      op: `matmul_${format} forward`,
      shape,
      ms,
      flops,
      bytes: 0,
      note: `${(f32 / ms).toFixed(2)}× our f32 (${f32.toFixed(3)} ms)`,
    });
  }
  rt.memory.destroyOwner('bench');
  return out;
}
