import { describe, expect, it } from 'vitest';
import { matmulQuantBackwardInput, matmulQuantForward } from '../../src/kernels/matmul_quant.ts';
import { type QuantWeight, uploadGgufWeight, uploadNf4Weight } from '../../src/kernels/weights.ts';
import { NF4_KNOWN, Q4_0_KNOWN, Q8_0_KNOWN } from '../fixtures/quant-known.ts';
import { expectClose } from '../harness/allclose.ts';
import { testRuntime } from '../harness/device.ts';
import { poisonedF32 } from '../harness/poison.ts';
import { seededRng } from '../harness/rng.ts';
import { TOLERANCES } from '../harness/tolerances.ts';
import { makeTestWeight } from '../harness/weights.ts';
import { matmulBackwardInputRef, matmulForwardRef } from '../reference/matmul.ts';

const TOL = TOLERANCES.matmul_weight_formats;

/** [N, K, M]: ragged N and M (not multiples of the 64 × 64 tile, including 1); K a multiple of the block. */
const SHAPES = {
  q8_0: [
    [1, 32, 1],
    [7, 96, 5],
    [65, 160, 129],
    [3, 512, 70],
    [130, 32, 1],
  ],
  q4_0: [
    [1, 32, 1],
    [7, 96, 5],
    [65, 160, 129],
    [3, 512, 70],
    [130, 32, 1],
  ],
  nf4: [
    [1, 64, 1],
    [7, 128, 5],
    [65, 192, 129],
    [3, 512, 70],
    [130, 64, 1],
  ],
} as const;

describe('matmul with block-quantized weights (shaders/matmul_quant.wgsl)', () => {
  for (const format of ['q8_0', 'q4_0', 'nf4'] as const) {
    for (const [N, K, M] of SHAPES[format]) {
      it(`${format} forward y = x·Wᵀ (+ b) and dx (+)= dy·W, ${N}x${K}x${M}`, async () => {
        const rt = await testRuntime();
        const rng = seededRng(`matmul ${format} ${N}x${K}x${M}`);
        const { w, values } = makeTestWeight(rt, format, M, K, rng);
        const x = rng.f32(N * K);
        const b = rng.f32(M);
        const dy = rng.f32(N * M);
        const prior = rng.f32(N * K);
        const xb = rt.uploadF32('test', 'x', x);
        const bb = rt.uploadF32('test', 'b', b);
        const dyb = rt.uploadF32('test', 'dy', dy);
        const y1 = poisonedF32(rt, 'y-bias', N * M);
        const y2 = poisonedF32(rt, 'y-nobias', N * M);
        const dx = poisonedF32(rt, 'dx', N * K);
        const dxAcc = rt.uploadF32('test', 'dx-acc', prior);
        const rec = rt.recorder(`matmul ${format}`);
        const qw = w as QuantWeight;
        await matmulQuantForward(rt, rec, { x: xb, w: qw, y: y1, bias: bb, N, K, M });
        await matmulQuantForward(rt, rec, { x: xb, w: qw, y: y2, N, K, M });
        await matmulQuantBackwardInput(rt, rec, { dy: dyb, w: qw, dx, N, K, M });
        await matmulQuantBackwardInput(rt, rec, { dy: dyb, w: qw, dx: dxAcc, N, K, M, accumulate: true });
        await rec.submit();
        expectClose('y with bias', await rt.readF32(y1), matmulForwardRef(x, values, b, N, K, M), TOL);
        expectClose('y without bias', await rt.readF32(y2), matmulForwardRef(x, values, undefined, N, K, M), TOL);
        const dxRef = matmulBackwardInputRef(dy, values, N, K, M);
        expectClose('dx', await rt.readF32(dx), dxRef, TOL);
        expectClose(
          'dx accumulated',
          await rt.readF32(dxAcc),
          dxRef.map((v, i) => v + prior[i]!),
          TOL,
        );
        rt.memory.destroyOwner('test');
        rt.memory.destroyOwner('test-output');
      });
    }
  }

  it('reads the hand-built GGUF / NF4 blocks to exactly their written-out values', async () => {
    const rt = await testRuntime();
    const cases: [string, QuantWeight, number[]][] = [
      ['q8_0', uploadGgufWeight(rt, 'test', 'q8', 'q8_0', Q8_0_KNOWN.bytes, 1, 64) as QuantWeight, Q8_0_KNOWN.values],
      ['q4_0', uploadGgufWeight(rt, 'test', 'q4', 'q4_0', Q4_0_KNOWN.bytes, 1, 64) as QuantWeight, Q4_0_KNOWN.values],
      ['nf4', uploadNf4Weight(rt, 'test', 'nf4', NF4_KNOWN.packed, NF4_KNOWN.absmax, 1, 64), NF4_KNOWN.values],
    ];
    // x = I (64 × 64): y[n, 0] = W[0, n], one exact product per output. dy = [1]: dx[0, k] = W[0, k].
    const eye = new Float32Array(64 * 64).map((_, i) => (i % 65 === 0 ? 1 : 0));
    const xb = rt.uploadF32('test', 'eye', eye);
    const one = rt.uploadF32('test', 'one', [1]);
    for (const [name, w, want] of cases) {
      const y = poisonedF32(rt, 'y', 64);
      const dx = poisonedF32(rt, 'dx', 64);
      const rec = rt.recorder(`known ${name}`);
      await matmulQuantForward(rt, rec, { x: xb, w, y, N: 64, K: 64, M: 1 });
      await matmulQuantBackwardInput(rt, rec, { dy: one, w, dx, N: 1, K: 64, M: 1 });
      await rec.submit();
      expect(Array.from(await rt.readF32(y)), `${name} forward`).toEqual(want.map(Math.fround));
      expect(Array.from(await rt.readF32(dx)), `${name} backward_input`).toEqual(want.map(Math.fround));
    }
    rt.memory.destroyOwner('test');
    rt.memory.destroyOwner('test-output');
  });

  it('runs several tile shapes (override constants) to the same result', async () => {
    const rt = await testRuntime();
    const rng = seededRng('matmul_quant tiles');
    const [N, K, M] = [37, 192, 53];
    for (const format of ['q4_0', 'nf4'] as const) {
      const { w, values } = makeTestWeight(rt, format, M, K, rng);
      const x = rng.f32(N * K);
      const dy = rng.f32(N * M);
      const xb = rt.uploadF32('test', 'x', x);
      const dyb = rt.uploadF32('test', 'dy', dy);
      for (const tiles of [
        { WG_X: 8, WG_Y: 8, TILE_K: 8 },
        { WG_X: 4, WG_Y: 16, TILE_K: 4 },
      ]) {
        const y = poisonedF32(rt, 'y', N * M);
        const dx = poisonedF32(rt, 'dx', N * K);
        const rec = rt.recorder('matmul_quant tiles');
        await matmulQuantForward(rt, rec, { x: xb, w: w as QuantWeight, y, N, K, M }, { tiles });
        await matmulQuantBackwardInput(rt, rec, { dy: dyb, w: w as QuantWeight, dx, N, K, M }, { tiles });
        await rec.submit();
        expectClose(
          `${format} y, tiles ${JSON.stringify(tiles)}`,
          await rt.readF32(y),
          matmulForwardRef(x, values, undefined, N, K, M),
          TOL,
        );
        expectClose(
          `${format} dx, tiles ${JSON.stringify(tiles)}`,
          await rt.readF32(dx),
          matmulBackwardInputRef(dy, values, N, K, M),
          TOL,
        );
      }
    }
    rt.memory.destroyOwner('test');
    rt.memory.destroyOwner('test-output');
  });

  it('refuses rows that are not whole blocks, a tile depth that splits a group of 4, a mismatched shape', async () => {
    const rt = await testRuntime();
    const scales = rt.zerosF32('test', 's', 64);
    const quants = rt.zerosF32('test', 'q', 64);
    const y = rt.zerosF32('test', 'y', 64);
    const rec = rt.recorder('errors');
    const bad: QuantWeight = { format: 'q4_0', rows: 2, cols: 48, scales, quants };
    await expect(matmulQuantForward(rt, rec, { x: y, w: bad, y, N: 1, K: 48, M: 2 })).rejects.toThrow(/multiple of 32/);
    const badNf4: QuantWeight = { format: 'nf4', rows: 1, cols: 96, scales, quants };
    await expect(matmulQuantBackwardInput(rt, rec, { dy: y, w: badNf4, dx: y, N: 1, K: 96, M: 1 })).rejects.toThrow(
      /multiple of 64/,
    );
    const ok: QuantWeight = { format: 'q8_0', rows: 2, cols: 32, scales, quants };
    await expect(
      matmulQuantForward(rt, rec, { x: y, w: ok, y, N: 1, K: 32, M: 2 }, { tiles: { WG_X: 8, WG_Y: 8, TILE_K: 6 } }),
    ).rejects.toThrow(/TILE_K/);
    await expect(matmulQuantForward(rt, rec, { x: y, w: ok, y, N: 1, K: 64, M: 1 })).rejects.toThrow(
      /weight is \[2, 32\]/,
    );
    rt.memory.destroyOwner('test');
  });
});
