/** Causal attention forward + backward at T = 1024, against a matmul of the same FLOP count. */
import type { GpuRuntime } from '../../src/gpu/runtime.ts';
import { attentionBackward, attentionForward, attentionStatsFloats } from '../../src/kernels/attention.ts';
import { matmulForward } from '../../src/kernels/matmul.ts';
import type { BenchOptions } from '../kernels.ts';
import { type BenchResult, randomF32, timeOurs } from '../harness.ts';

export async function attentionCases(rt: GpuRuntime, opts: BenchOptions): Promise<BenchResult[]> {
  const [B, T, H, Hkv, D] = opts.quick ? [1, 256, 4, 2, 64] : [1, 1024, 8, 2, 64];
  const N = B * T;
  const buf = (label: string, n: number) => rt.uploadF32('bench', label, randomF32(n));
  const q = buf('q', N * H * D);
  const k = buf('k', N * Hkv * D);
  const v = buf('v', N * Hkv * D);
  const out = rt.zerosF32('bench', 'out', N * H * D);
  const lse = rt.zerosF32('bench', 'lse', N * H);
  const dout = buf('dout', N * H * D);
  const dq = rt.zerosF32('bench', 'dq', N * H * D);
  const dk = rt.zerosF32('bench', 'dk', N * Hkv * D);
  const dv = rt.zerosF32('bench', 'dv', N * Hkv * D);
  const stats = rt.zerosF32('bench', 'stats', attentionStatsFloats({ B, T, H }));
  const shape = { B, T, H, Hkv, D };
  // Causal: half of the T×T scores. Forward QKᵀ and PV: 4·T²·D per head; backward recomputes QKᵀ and does four more.
  const fwdFlops = 2 * B * H * T * T * D;
  const bwdFlops = 2.5 * fwdFlops;
  const fwd = await timeOurs(rt, (rec) => attentionForward(rt, rec, { ...shape, q, k, v, out, lse }), opts);
  const both = await timeOurs(
    rt,
    async (rec) => {
      await attentionForward(rt, rec, { ...shape, q, k, v, out, lse });
      await attentionBackward(rt, rec, { ...shape, q, k, v, out, lse, dout, stats, dq, dk, dv });
    },
    opts,
  );
  // A square-ish matmul with the same FLOPs as forward + backward.
  const side = Math.round(Math.cbrt((fwdFlops + bwdFlops) / 2));
  const x = buf('mx', side * side);
  const w = buf('mw', side * side);
  const y = rt.zerosF32('bench', 'my', side * side);
  const mm = await timeOurs(rt, (rec) => matmulForward(rt, rec, { x, w, y, N: side, K: side, M: side }), opts);
  rt.memory.destroyOwner('bench');
  const label = `B${B} T${T} H${H}/${Hkv} D${D}`;
  return [
    { op: 'attention forward', shape: label, ms: fwd, flops: fwdFlops, bytes: 0 },
    {
      op: 'attention forward+backward',
      shape: label,
      ms: both,
      flops: fwdFlops + bwdFlops,
      bytes: 0,
      note: `${(both / mm).toFixed(2)}× a matmul of equal FLOPs (${side}³: ${mm.toFixed(3)} ms)`,
    },
  ];
}
