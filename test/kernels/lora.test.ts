import { describe, expect, it } from 'vitest';
import { type LoraOptions, loraBackward, loraForward, loraScratchFloats } from '../../src/kernels/lora.ts';
import { expectClose } from '../harness/allclose.ts';
import { testRuntime } from '../harness/device.ts';
import { poisonedF32 } from '../harness/poison.ts';
import { seededRng } from '../harness/rng.ts';
import { raggedShapes, raggedSize } from '../harness/shapes.ts';
import { TOLERANCES } from '../harness/tolerances.ts';
import { dropoutMultiplierRef, loraBackwardRef, loraForwardRef } from '../reference/lora.ts';

interface Case {
  N: number;
  K: number;
  M: number;
  R: number;
  p: number;
  /** Skinny-kernel split policy: 'split' forces split-K (short minimum split), 'whole' forbids it. */
  split: 'split' | 'whole';
}

/**
 * Ragged shapes (none a multiple of any tile), size-1 dimensions, ranks 1–4 (one 4-wide column tile) and 33–72
 * (a 64-wide column tile; 72 needs two). Only two of the five skinny tile classes are compiled, to bound SwiftShader
 * compile time (each class is four pipelines); the classes differ only in override constants.
 */
const CASES: Case[] = [
  { N: 1, K: 1, M: 1, R: 1, p: 0, split: 'whole' },
  { N: 37, K: 45, M: 29, R: 4, p: 0, split: 'whole' },
  { N: 37, K: 45, M: 29, R: 4, p: 0.1, split: 'split' },
  { N: 70, K: 131, M: 67, R: 3, p: 0.25, split: 'split' },
  { N: 130, K: 33, M: 200, R: 33, p: 0, split: 'split' },
  { N: 19, K: 300, M: 23, R: 37, p: 0.5, split: 'whole' },
  { N: 65, K: 97, M: 41, R: 64, p: 0.05, split: 'split' },
  { N: 9, K: 70, M: 5, R: 72, p: 0, split: 'split' },
  { N: 260, K: 17, M: 3, R: 1, p: 0.3, split: 'split' },
  // ranks drawn from the two compiled classes only (1–4, 33–72)
  ...raggedShapes('lora', 1, (r): Case => ({
    N: raggedSize(r, 1, 150),
    K: raggedSize(r, 1, 200),
    M: raggedSize(r, 1, 200),
    R: r.next() < 0.5 ? raggedSize(r, 1, 4) : raggedSize(r, 33, 72),
    p: r.next() < 0.5 ? 0 : 0.2,
    split: r.next() < 0.5 ? 'split' : 'whole',
  })),
];

function optionsFor(split: Case['split']): LoraOptions {
  return split === 'split' ? { targetWorkgroups: 64, minSplitLen: 16 } : { targetWorkgroups: 1 };
}

describe('lora (shaders/lora.wgsl)', () => {
  for (const c of CASES) {
    const name = `N=${c.N} K=${c.K} M=${c.M} R=${c.R} p=${c.p} ${c.split}`;
    it(`forward y += s·(xd·Aᵀ)·Bᵀ and backward dA, dB, dx (+ accumulation): ${name}`, async () => {
      const rt = await testRuntime();
      const rng = seededRng(`lora ${name}`);
      const { N, K, M, R } = c;
      const s = 2; // alpha = 2R, a common choice
      const dropout = { p: c.p, seed: rng.int(0, 2 ** 31), moduleId: rng.int(0, 1000) };
      const opts = optionsFor(c.split);
      const x = rng.f32(N * K);
      // PEFT's A init scale (kaiming-uniform, ±1/√K) and a trained-B-like ±1/√R keep every product O(1–10).
      const A = rng.f32(R * K, -1 / Math.sqrt(K), 1 / Math.sqrt(K));
      const B = rng.f32(M * R, -1 / Math.sqrt(R), 1 / Math.sqrt(R));
      const dy = rng.f32(N * M);
      // Base outputs and prior gradients in [2, 3]: in the one-element case `base + adapter` must not cancel to ~0,
      // where the norm-wise bound would be meaningless.
      const y0 = rng.f32(N * M, 2, 3);
      const dx0 = rng.f32(N * K, 2, 3);
      const priorA = rng.f32(R * K, 2, 3);
      const priorB = rng.f32(M * R, 2, 3);
      const xb = rt.uploadF32('test', 'x', x);
      const Ab = rt.uploadF32('test', 'A', A);
      const Bb = rt.uploadF32('test', 'B', B);
      const dyb = rt.uploadF32('test', 'dy', dy);
      const y = rt.uploadF32('test', 'y', y0);
      const u = poisonedF32(rt, 'u', N * R);
      const du = poisonedF32(rt, 'du', N * R);
      const dA = poisonedF32(rt, 'dA', R * K);
      const dB = poisonedF32(rt, 'dB', M * R);
      const dAacc = rt.uploadF32('test', 'dA-acc', priorA);
      const dBacc = rt.uploadF32('test', 'dB-acc', priorB);
      const dx = rt.uploadF32('test', 'dx', dx0);
      const scratch = poisonedF32(rt, 'scratch', loraScratchFloats(c, opts));
      const shape = { N, K, M, R, scale: s, dropout, scratch };
      const rec = rt.recorder('lora');
      await loraForward(rt, rec, { ...shape, x: xb, A: Ab, B: Bb, y, u }, opts);
      await loraBackward(rt, rec, { ...shape, x: xb, A: Ab, B: Bb, u, dy: dyb, dA, dB, du, dx }, opts);
      await loraBackward(
        rt,
        rec,
        { ...shape, x: xb, A: Ab, B: Bb, u, dy: dyb, dA: dAacc, dB: dBacc, du, accumulate: true },
        opts,
      );
      await rec.submit();
      const f = loraForwardRef(x, A, B, N, K, M, R, s, dropout);
      const b = loraBackwardRef(x, A, B, dy, N, K, M, R, s, dropout);
      const tol = TOLERANCES.lora_f32;
      expectClose('u', await rt.readF32(u), f.u, tol);
      expectClose(
        'y = base + s·u·Bᵀ',
        await rt.readF32(y),
        f.yAdd.map((v, i) => v + y0[i]!),
        tol,
      );
      expectClose('du', await rt.readF32(du), b.du, tol);
      expectClose('dA', await rt.readF32(dA), b.dA, tol);
      expectClose('dB', await rt.readF32(dB), b.dB, tol);
      expectClose(
        'dA accumulated',
        await rt.readF32(dAacc),
        b.dA.map((v, i) => v + priorA[i]!),
        tol,
      );
      expectClose(
        'dB accumulated',
        await rt.readF32(dBacc),
        b.dB.map((v, i) => v + priorB[i]!),
        tol,
      );
      expectClose(
        'dx = base + adapter',
        await rt.readF32(dx),
        b.dx.map((v, i) => v + dx0[i]!),
        tol,
      );
      rt.memory.destroyOwner('test');
      rt.memory.destroyOwner('test-output');
    });
  }

  it('dropout mask on the GPU: keep rate 1 − p, bit-exact with the reference hash, regenerated identically by backward', async () => {
    const rt = await testRuntime();
    const rng = seededRng('lora dropout mask');
    // A = I [K, K], B = I [K, K], x = 1, dy = 1, s = 1. Then
    //   u  = xd·Aᵀ            = keep(n, k)/(1 − p)        (the forward's mask)
    //   du = dy·B             = 1
    //   dx = keep ∘ (du·A)/(1 − p) = keep(n, k)/(1 − p)   (the backward's regenerated mask, element by element)
    //   dA = duᵀ·xd           : dA[r, k] = Σ_n keep(n, k)/(1 − p)  (the backward's mask through the skinny kernel)
    const [N, K, p] = [300, 40, 0.3];
    const dropout = { p, seed: rng.int(0, 2 ** 31), moduleId: 5 };
    const eye = new Float32Array(K * K);
    for (let i = 0; i < K; i++) eye[i * K + i] = 1;
    const shape = { N, K, M: K, R: K };
    const opts: LoraOptions = { targetWorkgroups: 8, minSplitLen: 16 };
    const xb = rt.uploadF32('test', 'x', new Float32Array(N * K).fill(1));
    const Ib = rt.uploadF32('test', 'I', eye);
    const u = poisonedF32(rt, 'u', N * K);
    const y = poisonedF32(rt, 'y', N * K);
    const dx = poisonedF32(rt, 'dx', N * K);
    const dA = poisonedF32(rt, 'dA', K * K);
    const scratch = poisonedF32(rt, 'scratch', loraScratchFloats(shape, opts));
    const common = { ...shape, x: xb, A: Ib, B: Ib, u, scale: 1, dropout, scratch };
    const rec = rt.recorder('lora mask');
    await loraForward(rt, rec, { ...common, y, overwrite: true }, opts);
    await loraBackward(
      rt,
      rec,
      {
        ...common,
        dy: rt.uploadF32('test', 'dy', new Float32Array(N * K).fill(1)),
        dA,
        dB: poisonedF32(rt, 'dB', K * K),
        du: poisonedF32(rt, 'du', N * K),
        dx,
        overwriteDx: true,
      },
      opts,
    );
    await rec.submit();
    const fwd = await rt.readF32(u);
    const bwd = await rt.readF32(dx);
    const want = new Float64Array(N * K);
    const colSums = new Float64Array(K * K);
    let kept = 0;
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < K; k++) {
        const mult = dropoutMultiplierRef(dropout, n, k);
        want[n * K + k] = mult;
        for (let r = 0; r < K; r++) colSums[r * K + k]! += mult;
        if (fwd[n * K + k] !== 0) kept++;
      }
    }
    expectClose('forward mask = reference hash', fwd, want, TOLERANCES.lora_f32);
    expect(Array.from(bwd), 'backward (dx) mask equals the forward mask').toEqual(Array.from(fwd));
    expectClose('dA column sums of the backward mask', await rt.readF32(dA), colSums, TOLERANCES.lora_f32);
    const total = N * K;
    expect(Math.abs(kept / total - (1 - p))).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / total));
    rt.memory.destroyOwner('test');
    rt.memory.destroyOwner('test-output');
  });
});
