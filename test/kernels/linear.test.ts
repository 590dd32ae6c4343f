import { describe, expect, it } from 'vitest';
import { linearBackwardInput, linearForward } from '../../src/kernels/linear.ts';
import { planRowChunks } from '../../src/kernels/weight-chunks.ts';
import { type QuantWeight, WEIGHT_FORMATS, type WeightFormat, weightArrays } from '../../src/kernels/weights.ts';
import { expectClose } from '../harness/allclose.ts';
import { testRuntime } from '../harness/device.ts';
import { poisonedF32 } from '../harness/poison.ts';
import { seededRng } from '../harness/rng.ts';
import { TOLERANCES } from '../harness/tolerances.ts';
import { makeTestWeight } from '../harness/weights.ts';
import { matmulBackwardInputRef, matmulForwardRef } from '../reference/matmul.ts';

const TOL = TOLERANCES.matmul_weight_formats;

/**
 * 4 KiB bindings: every format's weight below is cut into 3 to 19 row chunks (offsets at multiples of 256 bytes),
 * the last one ragged.
 */
const SPLIT_BYTES = 4096;

describe('linearForward / linearBackwardInput for every weight format (src/kernels/linear.ts)', () => {
  for (const format of WEIGHT_FORMATS) {
    it(`${format}: whole and split across bindings (maxBindingBytes ${SPLIT_BYTES})`, async () => {
      const rt = await testRuntime();
      const rng = seededRng(`linear ${format}`);
      const [N, K, M] = [5, format === 'nf4' ? 128 : 64, 300];
      const { w, values } = makeTestWeight(rt, format, M, K, rng);
      const chunks = planRowChunks(
        weightArrays(w),
        M,
        { maxBindingBytes: SPLIT_BYTES, offsetAlignment: rt.device.limits.minStorageBufferOffsetAlignment },
        format,
      );
      expect(chunks.length).toBeGreaterThanOrEqual(3);
      const x = rng.f32(N * K);
      const b = rng.f32(M);
      const dy = rng.f32(N * M);
      const prior = rng.f32(N * K);
      const xb = rt.uploadF32('test', 'x', x);
      const bb = rt.uploadF32('test', 'b', b);
      const dyb = rt.uploadF32('test', 'dy', dy);
      const yRef = matmulForwardRef(x, values, b, N, K, M);
      const dxRef = matmulBackwardInputRef(dy, values, N, K, M);
      for (const opts of [{}, { maxBindingBytes: SPLIT_BYTES }]) {
        const y = poisonedF32(rt, 'y', N * M);
        const dx = poisonedF32(rt, 'dx', N * K);
        const dxAcc = rt.uploadF32('test', 'dx-acc', prior);
        const rec = rt.recorder(`linear ${format}`);
        await linearForward(rt, rec, { x: xb, w, y, bias: bb, N, K, M }, opts);
        await linearBackwardInput(rt, rec, { dy: dyb, w, dx, N, K, M }, opts);
        await linearBackwardInput(rt, rec, { dy: dyb, w, dx: dxAcc, N, K, M, accumulate: true }, opts);
        const dispatches = rec.length;
        await rec.submit();
        const split = 'maxBindingBytes' in opts;
        expect(dispatches, 'one dispatch per chunk').toBe(split ? 3 * chunks.length : 3);
        const tag = `${format}${split ? ` in ${chunks.length} chunks` : ''}`;
        expectClose(`${tag}: y`, await rt.readF32(y), yRef, TOL);
        expectClose(`${tag}: dx`, await rt.readF32(dx), dxRef, TOL);
        expectClose(
          `${tag}: dx accumulated`,
          await rt.readF32(dxAcc),
          dxRef.map((v, i) => v + prior[i]!),
          TOL,
        );
      }
      rt.memory.destroyOwner('test');
      rt.memory.destroyOwner('test-output');
    });
  }

  it('refuses a weight whose shape disagrees with the call, or whose rows are not whole blocks', async () => {
    const rt = await testRuntime();
    const rng = seededRng('linear errors');
    const formats: WeightFormat[] = ['f32', 'f16', 'q8_0'];
    const rec = rt.recorder('errors');
    const buf = rt.zerosF32('test', 'buf', 1024);
    for (const format of formats) {
      const { w } = makeTestWeight(rt, format, 3, 32, rng);
      await expect(linearForward(rt, rec, { x: buf, w, y: buf, N: 1, K: 32, M: 4 }), format).rejects.toThrow(
        /weight is \[3, 32\]|\[3, 32\]/,
      );
    }
    const ragged: QuantWeight = { format: 'q8_0', rows: 3, cols: 40, scales: buf, quants: buf };
    await expect(linearBackwardInput(rt, rec, { dy: buf, w: ragged, dx: buf, N: 1, K: 40, M: 3 })).rejects.toThrow(
      /multiple of 32/,
    );
    expect(rec.length).toBe(0);
    rt.memory.destroyOwner('test');
  });
});
