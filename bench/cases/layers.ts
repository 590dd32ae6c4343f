/** The memory-bound ops of a training step (GB/s) and the LoRA products at training shapes. */
import type { GpuRuntime } from '../../src/gpu/runtime.ts';
import { adamwStep } from '../../src/kernels/adamw.ts';
import { crossEntropyLoss, f32LmHead } from '../../src/kernels/cross_entropy.ts';
import { gluBackward, gluForward } from '../../src/kernels/glu.ts';
import { loraBackward, loraForward, loraScratchFloats } from '../../src/kernels/lora.ts';
import { rmsnormBackward, rmsnormForward } from '../../src/kernels/rmsnorm.ts';
import { ropeForward, uploadRopeTable } from '../../src/kernels/rope.ts';
import type { BenchOptions } from '../kernels.ts';
import { type BenchResult, randomF32, timeOurs } from '../harness.ts';

export async function layerCases(rt: GpuRuntime, opts: BenchOptions): Promise<BenchResult[]> {
  const [N, C, I, V, R] = opts.quick ? [256, 512, 1024, 8192, 16] : [1024, 2048, 8192, 32000, 16];
  const buf = (label: string, n: number) => rt.uploadF32('bench', label, randomF32(n));
  const zeros = (label: string, n: number) => rt.zerosF32('bench', label, n);
  const out: BenchResult[] = [];

  const x = buf('x', N * C);
  const w = buf('w', C);
  const y = zeros('y', N * C);
  const rstd = zeros('rstd', N);
  const dx = zeros('dx', N * C);
  const eps = 1e-5;
  out.push({
    op: 'rmsnorm forward',
    shape: `${N}×${C}`,
    ms: await timeOurs(rt, (rec) => rmsnormForward(rt, rec, { x, w, y, rstd, N, C, eps }), opts),
    flops: 0,
    bytes: 8 * N * C,
  });
  out.push({
    op: 'rmsnorm backward',
    shape: `${N}×${C}`,
    ms: await timeOurs(rt, (rec) => rmsnormBackward(rt, rec, { x, w, rstd, dy: y, dx, N, C, eps }), opts),
    flops: 0,
    bytes: 12 * N * C,
  });

  const gate = buf('gate', N * I);
  const up = buf('up', N * I);
  const act = zeros('act', N * I);
  const dg = zeros('dg', N * I);
  const du = zeros('du', N * I);
  out.push({
    op: 'swiglu forward',
    shape: `${N}×${I}`,
    ms: await timeOurs(rt, (rec) => gluForward(rt, rec, { gate, up, out: act, N, I, act: 'silu' }), opts),
    flops: 0,
    bytes: 12 * N * I,
  });
  out.push({
    op: 'swiglu backward',
    shape: `${N}×${I}`,
    ms: await timeOurs(
      rt,
      (rec) => gluBackward(rt, rec, { gate, up, dout: act, dgate: dg, dup: du, N, I, act: 'silu' }),
      opts,
    ),
    flops: 0,
    bytes: 20 * N * I,
  });

  const H = C / 64;
  const positions = rt.memory.upload(
    'bench',
    'positions',
    Uint32Array.from({ length: N }, (_, i) => i),
  ).buffer;
  const turns = uploadRopeTable(rt, 'bench', { theta: 10000, rotDim: 64 });
  out.push({
    op: 'rope forward (in place)',
    shape: `${N}×${H}×64`,
    ms: await timeOurs(
      rt,
      (rec) => ropeForward(rt, rec, { x, tokens: N, heads: H, D: 64, rotDim: 64, positions, turns }),
      opts,
    ),
    flops: 0,
    bytes: 8 * N * C,
  });

  // LoRA on a C → C projection, rank R.
  const A = buf('A', R * C);
  const Bm = buf('B', C * R);
  const u = zeros('u', N * R);
  const dA = zeros('dA', R * C);
  const dB = zeros('dB', C * R);
  const duR = zeros('duR', N * R);
  const scratch = zeros('lora-scratch', loraScratchFloats({ N, K: C, M: C, R }));
  const shape = { N, K: C, M: C, R };
  out.push({
    op: 'lora forward',
    shape: `${N}×${C}→${C} r${R}`,
    ms: await timeOurs(rt, (rec) => loraForward(rt, rec, { ...shape, x, A, B: Bm, y, u, scale: 2, scratch }), opts),
    flops: 4 * N * C * R,
    bytes: 0,
  });
  out.push({
    op: 'lora backward',
    shape: `${N}×${C}→${C} r${R}`,
    ms: await timeOurs(
      rt,
      (rec) => loraBackward(rt, rec, { ...shape, x, A, B: Bm, u, dy: y, dA, dB, du: duR, dx, scale: 2, scratch }),
      opts,
    ),
    flops: 8 * N * C * R,
    bytes: 0,
  });

  // LM head + cross-entropy over V (chunked), with the head gradient.
  const Wout = buf('Wout', V * C);
  const chunk = Math.min(N, Math.max(1, Math.floor((64 * 2 ** 20) / (4 * V))));
  const headScratch = zeros('head-scratch', chunk * C);
  const head = f32LmHead(rt, Wout, V, C, headScratch);
  const targets = rt.memory.upload(
    'bench',
    'targets',
    Uint32Array.from({ length: N }, (_, i) => (i * 7919) % V),
  ).buffer;
  const logits = zeros('logits', chunk * V);
  const losses = zeros('losses', N);
  const loss = zeros('loss', 4);
  out.push({
    op: 'lm head + cross-entropy fwd+bwd',
    shape: `${N}×${C}→${V} (chunk ${chunk})`,
    ms: await timeOurs(
      rt,
      (rec) =>
        crossEntropyLoss(rt, rec, {
          head,
          h: x,
          targets,
          T: N,
          chunkTokens: chunk,
          logits,
          losses,
          loss,
          scale: 1 / N,
          dh: dx,
        }),
      opts,
    ),
    flops: 4 * N * C * V,
    bytes: 0,
  });

  const count = 7 * 2 * R * C * 24; // rank-R adapters on 7 projections of 24 layers
  const p = buf('p', count);
  const g = buf('g', count);
  const m = zeros('m', count);
  const v = zeros('v', count);
  out.push({
    op: 'adamw step',
    shape: `${count} params`,
    ms: await timeOurs(
      rt,
      (rec) =>
        adamwStep(rt, rec, {
          param: p,
          grad: g,
          m,
          v,
          count,
          lr: 1e-4,
          beta1: 0.9,
          beta2: 0.999,
          eps: 1e-8,
          weightDecay: 0.01,
          step: 1,
        }),
      opts,
    ),
    flops: 0,
    bytes: 28 * count,
  });
  rt.memory.destroyOwner('bench');
  return out;
}
