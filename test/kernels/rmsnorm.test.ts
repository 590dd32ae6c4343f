import { describe, it } from 'vitest';
import {
  rmsnormBackward,
  rmsnormBackwardWeight,
  rmsnormForward,
  rmsnormWeightScratchFloats,
} from '../../src/kernels/rmsnorm.ts';
import { expectClose } from '../harness/allclose.ts';
import { testRuntime } from '../harness/device.ts';
import { poisonedF32 } from '../harness/poison.ts';
import { seededRng } from '../harness/rng.ts';
import { raggedShapes, raggedSize } from '../harness/shapes.ts';
import { TOLERANCES } from '../harness/tolerances.ts';
import { rmsnormBackwardRef, rmsnormForwardRef } from '../reference/rmsnorm.ts';

/** [N, C, gemma]: ragged rows and row lengths (1, below / above / not a multiple of the workgroup), both gain forms. */
const CASES: [number, number, boolean][] = [
  [1, 1, false],
  [5, 37, true],
  [33, 700, false],
  [300, 13, true],
  [2, 257, false],
  ...raggedShapes('rmsnorm', 2, (r): [number, number, boolean] => [
    raggedSize(r, 1, 200),
    raggedSize(r, 1, 800),
    r.next() < 0.5,
  ]),
];

describe('rmsnorm (shaders/rmsnorm.wgsl)', () => {
  for (const [N, C, gemma] of CASES) {
    it(`forward, dx (+ accumulate) and dw (+ accumulate), N=${N} C=${C}${gemma ? ' gemma (1+w)' : ''}`, async () => {
      const rt = await testRuntime();
      const rng = seededRng(`rmsnorm ${N}x${C} gemma=${gemma}`);
      const eps = 1e-5;
      const x = rng.f32(N * C, -2, 2);
      const w = rng.f32(C, -1.5, 1.5);
      const dy = rng.f32(N * C);
      // Priors in [2, 3]: a one-element `prior + dw` must not cancel to ~0, where a norm-wise bound is meaningless.
      const priorDx = rng.f32(N * C, 2, 3);
      const priorDw = rng.f32(C, 2, 3);
      const xb = rt.uploadF32('test', 'x', x);
      const wb = rt.uploadF32('test', 'w', w);
      const dyb = rt.uploadF32('test', 'dy', dy);
      const y = poisonedF32(rt, 'y', N * C);
      const rstd = poisonedF32(rt, 'rstd', N);
      const dx = poisonedF32(rt, 'dx', N * C);
      const dxAcc = rt.uploadF32('test', 'dx-acc', priorDx);
      const dw = poisonedF32(rt, 'dw', C);
      const dwAcc = rt.uploadF32('test', 'dw-acc', priorDw);
      const scratch = poisonedF32(rt, 'scratch', rmsnormWeightScratchFloats(N, C));
      const shape = { N, C, eps, gemma };
      const rec = rt.recorder('rmsnorm');
      await rmsnormForward(rt, rec, { ...shape, x: xb, w: wb, y, rstd });
      await rmsnormBackward(rt, rec, { ...shape, x: xb, w: wb, rstd, dy: dyb, dx });
      await rmsnormBackward(rt, rec, { ...shape, x: xb, w: wb, rstd, dy: dyb, dx: dxAcc, accumulate: true });
      await rmsnormBackwardWeight(rt, rec, { ...shape, x: xb, rstd, dy: dyb, dw, scratch });
      await rmsnormBackwardWeight(rt, rec, { ...shape, x: xb, rstd, dy: dyb, dw: dwAcc, scratch, accumulate: true });
      await rec.submit();
      const f = rmsnormForwardRef(x, w, N, C, eps, gemma);
      const b = rmsnormBackwardRef(x, w, dy, N, C, eps, gemma);
      expectClose('y', await rt.readF32(y), f.y, TOLERANCES.rmsnorm_f32);
      expectClose('rstd', await rt.readF32(rstd), f.rstd, TOLERANCES.rmsnorm_f32);
      expectClose('dx', await rt.readF32(dx), b.dx, TOLERANCES.rmsnorm_f32);
      expectClose(
        'dx accumulated',
        await rt.readF32(dxAcc),
        b.dx.map((v, i) => v + priorDx[i]!),
        TOLERANCES.rmsnorm_f32,
      );
      expectClose('dw', await rt.readF32(dw), b.dw, TOLERANCES.rmsnorm_dw_f32);
      expectClose(
        'dw accumulated',
        await rt.readF32(dwAcc),
        b.dw.map((v, i) => v + priorDw[i]!),
        TOLERANCES.rmsnorm_dw_f32,
      );
      rt.memory.destroyOwner('test');
      rt.memory.destroyOwner('test-output');
    });
  }

  it('per-head norm (qwen3 q_norm): [T, H, D] rows of length D share one weight [D]', async () => {
    const rt = await testRuntime();
    const rng = seededRng('rmsnorm per-head');
    const [T, H, D, eps] = [7, 3, 24, 1e-6];
    const x = rng.f32(T * H * D, -3, 3);
    const w = rng.f32(D);
    const dy = rng.f32(T * H * D);
    const xb = rt.uploadF32('test', 'x', x);
    const wb = rt.uploadF32('test', 'w', w);
    const dyb = rt.uploadF32('test', 'dy', dy);
    const y = poisonedF32(rt, 'y', T * H * D);
    const rstd = poisonedF32(rt, 'rstd', T * H);
    const dx = poisonedF32(rt, 'dx', T * H * D);
    const dw = poisonedF32(rt, 'dw', D);
    const scratch = poisonedF32(rt, 'scratch', rmsnormWeightScratchFloats(T * H, D));
    const shape = { N: T * H, C: D, eps };
    const rec = rt.recorder('rmsnorm per-head');
    await rmsnormForward(rt, rec, { ...shape, x: xb, w: wb, y, rstd });
    await rmsnormBackward(rt, rec, { ...shape, x: xb, w: wb, rstd, dy: dyb, dx });
    await rmsnormBackwardWeight(rt, rec, { ...shape, x: xb, rstd, dy: dyb, dw, scratch });
    await rec.submit();
    // Reference computed head by head: each (t, h) slice is its own row.
    const yRef = new Float64Array(T * H * D);
    const dxRef = new Float64Array(T * H * D);
    const dwRef = new Float64Array(D);
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < H; h++) {
        const off = (t * H + h) * D;
        const xs = x.subarray(off, off + D);
        yRef.set(rmsnormForwardRef(xs, w, 1, D, eps).y, off);
        const g = rmsnormBackwardRef(xs, w, dy.subarray(off, off + D), 1, D, eps);
        dxRef.set(g.dx, off);
        g.dw.forEach((v, i) => (dwRef[i]! += v));
      }
    }
    expectClose('y', await rt.readF32(y), yRef, TOLERANCES.rmsnorm_f32);
    expectClose('dx', await rt.readF32(dx), dxRef, TOLERANCES.rmsnorm_f32);
    expectClose('dw', await rt.readF32(dw), dwRef, TOLERANCES.rmsnorm_dw_f32);
    rt.memory.destroyOwner('test');
    rt.memory.destroyOwner('test-output');
  });
});
