/**
 * GGUF K-quant base weights (Q2_K .. Q6_K) read as stored by shaders/matmul_kquant.wgsl: forward y = x·Wᵀ (+ b),
 * the input gradient dx (+)= dy·W and decode (N = 1) against float64 on the CPU dequantization of the same bytes
 * (src/formats/gguf-dequant.ts). Random blocks (every bit random but the f16 super-scales), ragged N and M,
 * outputs poisoned with NaN and followed by the guard band of test/harness/poison.ts.
 */
import { describe, expect, it } from 'vitest';
import { KQUANT_FORMATS, type KQuantFormat } from '../../src/formats/quant-blocks.ts';
import type { GpuRuntime } from '../../src/gpu/runtime.ts';
import { matmulQuantBackwardInput, matmulQuantForward } from '../../src/kernels/matmul_quant.ts';
import type { WeightMatmulOptions } from '../../src/kernels/weight-chunks.ts';
import type { QuantWeight } from '../../src/kernels/weights.ts';
import { expectClose } from '../harness/allclose.ts';
import { testRuntime } from '../harness/device.ts';
import { poisonedF32 } from '../harness/poison.ts';
import { seededRng } from '../harness/rng.ts';
import { TOLERANCES } from '../harness/tolerances.ts';
import { makeTestWeight } from '../harness/weights.ts';
import { matmulBackwardInputRef, matmulForwardRef } from '../reference/matmul.ts';

const TOL = TOLERANCES.matmul_kquant;
/** An output of `n` values poisoned with NaN (or holding `prior`), followed by the harness's guard band. */
function output(rt: GpuRuntime, label: string, n: number, prior?: Float32Array): GPUBuffer {
  const b = poisonedF32(rt, label, n);
  if (prior) rt.device.queue.writeBuffer(b, 0, Float32Array.from(prior));
  return b;
}

async function check(format: KQuantFormat, N: number, K: number, M: number, opts: WeightMatmulOptions = {}) {
  const rt = await testRuntime();
  const rng = seededRng(`matmul ${format} ${N}x${K}x${M}`);
  const { w, values } = makeTestWeight(rt, format, M, K, rng);
  const qw = w as QuantWeight;
  const x = rng.f32(N * K);
  const b = rng.f32(M);
  const dy = rng.f32(N * M);
  const prior = rng.f32(N * K);
  const xb = rt.uploadF32('test', 'x', x);
  const bb = rt.uploadF32('test', 'b', b);
  const dyb = rt.uploadF32('test', 'dy', dy);
  const y1 = output(rt, 'y-bias', N * M);
  const y2 = output(rt, 'y-nobias', N * M);
  const dx = output(rt, 'dx', N * K);
  const dxAcc = output(rt, 'dx-acc', N * K, prior);
  const rec = rt.recorder(`matmul ${format}`);
  await matmulQuantForward(rt, rec, { x: xb, w: qw, y: y1, bias: bb, N, K, M }, opts);
  await matmulQuantForward(rt, rec, { x: xb, w: qw, y: y2, N, K, M }, opts);
  await matmulQuantBackwardInput(rt, rec, { dy: dyb, w: qw, dx, N, K, M }, opts);
  await matmulQuantBackwardInput(rt, rec, { dy: dyb, w: qw, dx: dxAcc, N, K, M, accumulate: true }, opts);
  await rec.submit();
  const name = `${format} ${N}x${K}x${M}`;
  const yRef = matmulForwardRef(x, values, undefined, N, K, M);
  expectClose(`${name} y with bias`, await rt.readF32(y1), matmulForwardRef(x, values, b, N, K, M), TOL);
  expectClose(`${name} y`, await rt.readF32(y2), yRef, TOL);
  const dxRef = matmulBackwardInputRef(dy, values, N, K, M);
  expectClose(`${name} dx`, await rt.readF32(dx), dxRef, TOL);
  expectClose(
    `${name} dx accumulated`,
    await rt.readF32(dxAcc),
    dxRef.map((v, i) => v + prior[i]!),
    TOL,
  );
  rt.memory.destroyOwner('test');
  rt.memory.destroyOwner('test-output');
}

/** [N, K, M]: decode (N = 1), ragged N and M around the 64 × 64 tile, an odd number of 256-blocks per row. */
const SHAPES: [number, number, number][] = [
  [1, 256, 1],
  [1, 768, 70],
  [65, 512, 129],
  [7, 256, 5],
];

/**
 * Tiles per format: the defaults for the common Q4_K and Q6_K; smaller ones for the others, which SwiftShader compiles
 * in a quarter of the time (it unrolls the tile loops) and which stage the same decode in other groupings.
 */
const TILES: Record<KQuantFormat, WeightMatmulOptions['tiles']> = {
  q2_k: { WG_X: 8, WG_Y: 8, TILE_K: 8 },
  q3_k: { WG_X: 4, WG_Y: 16, TILE_K: 4 },
  q4_k: undefined,
  q5_k: { WG_X: 8, WG_Y: 8, TILE_K: 8 },
  q6_k: undefined,
};

describe('matmul with GGUF K-quant weights read as stored (shaders/matmul_kquant.wgsl)', () => {
  for (const format of KQUANT_FORMATS) {
    const tiles = TILES[format];
    it(`${format}: forward, backward_input and decode against float64${tiles ? ` (tiles ${JSON.stringify(tiles)})` : ''}`, async () => {
      for (const [N, K, M] of SHAPES) await check(format, N, K, M, tiles ? { tiles } : {});
    });
  }

  it('splits a weight larger than one binding into row chunks (Q6_K: 2-byte scales per row)', async () => {
    // K = 256: 2 bytes of scales and 208 of quants per row; chunks start every 128 rows (256-byte alignment).
    await check('q6_k', 9, 256, 300, { maxBindingBytes: 128 * 208 });
    await check('q4_k', 9, 512, 150, { maxBindingBytes: 64 * 280 });
  });

  it('refuses rows that are not whole 256-value blocks', async () => {
    const rt = await testRuntime();
    const scales = rt.zerosF32('test', 's', 64);
    const quants = rt.zerosF32('test', 'q', 64);
    const y = rt.zerosF32('test', 'y', 64);
    const bad: QuantWeight = { format: 'q4_k', rows: 1, cols: 128, scales, quants };
    await expect(
      matmulQuantForward(rt, rt.recorder('errors'), { x: y, w: bad, y, N: 1, K: 128, M: 1 }),
    ).rejects.toThrow(/q4_k weight needs K \(row length\) to be a multiple of 256/);
    rt.memory.destroyOwner('test');
  });
});
