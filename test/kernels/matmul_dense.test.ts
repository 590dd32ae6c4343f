import { describe, expect, it } from 'vitest';
import { packHalves } from '../../src/formats/quant-blocks.ts';
import { matmulDenseBackwardInput, matmulDenseForward } from '../../src/kernels/matmul_dense.ts';
import { type DenseWeight, uploadDenseWeight } from '../../src/kernels/weights.ts';
import { expectClose } from '../harness/allclose.ts';
import { testRuntime } from '../harness/device.ts';
import { poisonedF32 } from '../harness/poison.ts';
import { seededRng } from '../harness/rng.ts';
import { raggedShapes, raggedSize } from '../harness/shapes.ts';
import { TOLERANCES } from '../harness/tolerances.ts';
import { makeTestWeight } from '../harness/weights.ts';
import { matmulBackwardInputRef, matmulForwardRef } from '../reference/matmul.ts';
import { bf16ToNumberRef, f16ToNumberRef } from '../reference/quant.ts';

const TOL = TOLERANCES.matmul_weight_formats;

/** [N, K, M]: ragged shapes that are not multiples of the 64×64×16 tile, including 1; odd K puts row ends mid-word. */
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [7, 13, 5],
  [65, 31, 129],
  [3, 512, 70],
  [130, 17, 1],
  ...raggedShapes('matmul_dense', 1, (r): [number, number, number] => [
    raggedSize(r, 1, 140),
    raggedSize(r, 1, 520),
    raggedSize(r, 1, 140),
  ]),
];

describe('matmul with f16 / bf16 weights (shaders/matmul_dense.wgsl)', () => {
  for (const format of ['f16', 'bf16'] as const) {
    for (const [N, K, M] of SHAPES) {
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
        const dw = w as DenseWeight;
        const rec = rt.recorder(`matmul ${format}`);
        await matmulDenseForward(rt, rec, { x: xb, w: dw, y: y1, bias: bb, N, K, M });
        await matmulDenseForward(rt, rec, { x: xb, w: dw, y: y2, N, K, M });
        await matmulDenseBackwardInput(rt, rec, { dy: dyb, w: dw, dx, N, K, M });
        await matmulDenseBackwardInput(rt, rec, { dy: dyb, w: dw, dx: dxAcc, N, K, M, accumulate: true });
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

  it('decodes f16 and bf16 bit patterns exactly, in both halves of a word', async () => {
    const rt = await testRuntime();
    // Normal, negative, largest finite, smallest normal, and a value with every significand bit set. (f16
    // subnormals decode through unpack2x16float, which hardware may flush; they are not claimed exact here.)
    const f16 = [0x3c00, 0xc000, 0x7bff, 0x0400, 0x3bff, 0xb555, 0x0000, 0x8000, 0x4248];
    const bf16 = [0x3f80, 0xc000, 0x7f7f, 0x0080, 0x3fff, 0xbeaa, 0x0000, 0x8000, 0x4049];
    for (const [format, bits, decode] of [
      ['f16', f16, f16ToNumberRef],
      ['bf16', bf16, bf16ToNumberRef],
    ] as const) {
      const K = bits.length; // odd: the second row starts in the high half of a word
      const w = uploadDenseWeight(
        rt,
        'test',
        'w',
        format,
        new Uint8Array(packHalves([...bits, ...bits.slice().reverse()]).buffer, 0, 4 * K),
        2,
        K,
      );
      const eye = new Float32Array(K * K).map((_, i) => (i % (K + 1) === 0 ? 1 : 0));
      const y = poisonedF32(rt, 'y', K * 2);
      const rec = rt.recorder('decode');
      await matmulDenseForward(rt, rec, { x: rt.uploadF32('test', 'eye', eye), w, y, N: K, K, M: 2 });
      await rec.submit();
      const got = await rt.readF32(y);
      const want = bits.flatMap((h, n) => [decode(h), decode(bits[K - 1 - n]!)]);
      expect(Array.from(got), format).toEqual(want.map((v) => (v === 0 ? 0 : v)));
    }
    rt.memory.destroyOwner('test');
    rt.memory.destroyOwner('test-output');
  });
});
