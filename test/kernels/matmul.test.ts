import { describe, expect, it } from 'vitest';
import { matmulBackwardInput, matmulBackwardWeight, matmulForward } from '../../src/kernels/matmul.ts';
import { expectClose } from '../harness/allclose.ts';
import { testRuntime } from '../harness/device.ts';
import { poisonedF32 } from '../harness/poison.ts';
import { seededRng } from '../harness/rng.ts';
import { raggedShapes, raggedSize } from '../harness/shapes.ts';
import { TOLERANCES } from '../harness/tolerances.ts';
import { matmulBackwardInputRef, matmulBackwardWeightRef, matmulForwardRef } from '../reference/matmul.ts';

/** [N, K, M]: ragged shapes that are not multiples of the 64×64×16 tile, including 1. */
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [7, 13, 5],
  [65, 31, 129],
  [256, 512, 128],
  [3, 100, 70],
  [130, 17, 1],
  // and two drawn per seed
  ...raggedShapes('matmul', 2, (r): [number, number, number] => [
    raggedSize(r, 1, 150),
    raggedSize(r, 1, 200),
    raggedSize(r, 1, 150),
  ]),
];

describe('matmul f32 (shaders/matmul.wgsl)', () => {
  for (const [N, K, M] of SHAPES) {
    it(`forward y = x·Wᵀ + b, ${N}x${K}x${M}`, async () => {
      const rt = await testRuntime();
      const rng = seededRng(`matmul_forward ${N}x${K}x${M}`);
      const x = rng.f32(N * K);
      const w = rng.f32(M * K);
      const b = rng.f32(M);
      const xb = rt.uploadF32('test', 'x', x);
      const wb = rt.uploadF32('test', 'w', w);
      const bb = rt.uploadF32('test', 'b', b);
      const y1 = poisonedF32(rt, 'y-bias', N * M);
      const y2 = poisonedF32(rt, 'y-nobias', N * M);
      const rec = rt.recorder('matmul_forward');
      await matmulForward(rt, rec, { x: xb, w: wb, y: y1, bias: bb, N, K, M });
      await matmulForward(rt, rec, { x: xb, w: wb, y: y2, N, K, M });
      await rec.submit();
      expectClose('with bias', await rt.readF32(y1), matmulForwardRef(x, w, b, N, K, M), TOLERANCES.matmul_f32);
      expectClose(
        'without bias',
        await rt.readF32(y2),
        matmulForwardRef(x, w, undefined, N, K, M),
        TOLERANCES.matmul_f32,
      );
      rt.memory.destroyOwner('test');
      rt.memory.destroyOwner('test-output');
    });

    it(`backward dx = dy·W and dW (+)= dyᵀ·x, ${N}x${K}x${M}`, async () => {
      const rt = await testRuntime();
      const rng = seededRng(`matmul_backward ${N}x${K}x${M}`);
      const x = rng.f32(N * K);
      const w = rng.f32(M * K);
      const dy = rng.f32(N * M);
      const prior = rng.f32(M * K);
      const xb = rt.uploadF32('test', 'x', x);
      const wb = rt.uploadF32('test', 'w', w);
      const dyb = rt.uploadF32('test', 'dy', dy);
      const dx = poisonedF32(rt, 'dx', N * K);
      const dw = poisonedF32(rt, 'dw', M * K);
      const dwAcc = rt.uploadF32('test', 'dw-acc', prior);
      const rec = rt.recorder('matmul_backward');
      await matmulBackwardInput(rt, rec, { dy: dyb, w: wb, dx, N, K, M });
      await matmulBackwardWeight(rt, rec, { dy: dyb, x: xb, dw, N, K, M });
      await matmulBackwardWeight(rt, rec, { dy: dyb, x: xb, dw: dwAcc, N, K, M, accumulate: true });
      await rec.submit();
      expectClose('dx', await rt.readF32(dx), matmulBackwardInputRef(dy, w, N, K, M), TOLERANCES.matmul_f32);
      const dwRef = matmulBackwardWeightRef(dy, x, N, K, M);
      expectClose('dW', await rt.readF32(dw), dwRef, TOLERANCES.matmul_f32);
      expectClose(
        'dW accumulated',
        await rt.readF32(dwAcc),
        dwRef.map((v, i) => v + prior[i]!),
        TOLERANCES.matmul_f32,
      );
      rt.memory.destroyOwner('test');
      rt.memory.destroyOwner('test-output');
    });
  }

  it('runs several tile shapes (override constants) to the same result', async () => {
    const rt = await testRuntime();
    const rng = seededRng('matmul tiles');
    const [N, K, M] = [37, 45, 53];
    const x = rng.f32(N * K);
    const w = rng.f32(M * K);
    const want = matmulForwardRef(x, w, undefined, N, K, M);
    const xb = rt.uploadF32('test', 'x', x);
    const wb = rt.uploadF32('test', 'w', w);
    for (const tiles of [
      { WG_X: 8, WG_Y: 8, TILE_K: 8 },
      { WG_X: 16, WG_Y: 8, TILE_K: 32 },
      { WG_X: 4, WG_Y: 16, TILE_K: 4 },
    ]) {
      const y = poisonedF32(rt, 'y', N * M);
      const rec = rt.recorder('matmul tiles');
      await matmulForward(rt, rec, { x: xb, w: wb, y, N, K, M }, tiles);
      await rec.submit();
      expectClose(`tiles ${JSON.stringify(tiles)}`, await rt.readF32(y), want, TOLERANCES.matmul_f32);
    }
    expect(rt.pipelines.size).toBeGreaterThanOrEqual(3);
    rt.memory.destroyOwner('test');
    rt.memory.destroyOwner('test-output');
  });
});
