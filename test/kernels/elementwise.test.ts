import { describe, expect, it } from 'vitest';
import { fill, residualForward, residualForwardInplace, scale } from '../../src/kernels/elementwise.ts';
import { expectClose } from '../harness/allclose.ts';
import { testRuntime } from '../harness/device.ts';
import { GUARD_FLOATS, poisonedF32 } from '../harness/poison.ts';
import { seededRng } from '../harness/rng.ts';
import { raggedShapes, raggedSize } from '../harness/shapes.ts';
import { TOLERANCES } from '../harness/tolerances.ts';

describe('elementwise (shaders/elementwise.wgsl)', () => {
  it('the guard band after an output catches a kernel that writes past its end', async () => {
    const rt = await testRuntime();
    const y = poisonedF32(rt, 'short-y', 10);
    const ok = poisonedF32(rt, 'exact-y', 10);
    const rec = rt.recorder('guard');
    await fill(rt, rec, { y, count: 13, value: 1 }); // 3 elements too many: the buffer has room, the output not
    await fill(rt, rec, { y: ok, count: 10, value: 1 });
    await rec.submit();
    await expect(rt.readF32(y)).rejects.toThrow(
      /short-y: the kernel wrote past the end of its output of 10 floats: guard word 0 \(element 10\) holds 1/,
    );
    expect(Array.from(await rt.readF32(ok))).toEqual(new Array(10).fill(1));
    expect(GUARD_FLOATS).toBeGreaterThanOrEqual(256);
    rt.memory.destroyOwner('test-output');
  });

  for (const count of [1, 255, 257, 10_007, ...raggedShapes('elementwise', 1, (r) => raggedSize(r, 1, 20_000))]) {
    it(`residual add, in-place add, fill and scale over ${count} elements`, async () => {
      const rt = await testRuntime();
      const rng = seededRng(`elementwise ${count}`);
      const a = rng.f32(count, -5, 5);
      const b = rng.f32(count, -5, 5);
      const ab = rt.uploadF32('test', 'a', a);
      const bb = rt.uploadF32('test', 'b', b);
      const acc = rt.uploadF32('test', 'acc', a);
      const y = poisonedF32(rt, 'y', count);
      const filled = poisonedF32(rt, 'filled', count);
      const scaled = rt.uploadF32('test', 'scaled', b);
      const rec = rt.recorder('elementwise');
      await residualForward(rt, rec, { a: ab, b: bb, y, count });
      await residualForwardInplace(rt, rec, { a: acc, b: bb, count });
      await fill(rt, rec, { y: filled, count, value: -0.75 });
      await scale(rt, rec, { y: scaled, count, value: 1.5 });
      await rec.submit();
      const sum = Float64Array.from(a, (v, i) => v + b[i]!);
      expectClose('y = a + b', await rt.readF32(y), sum, TOLERANCES.elementwise_f32);
      expectClose('a += b', await rt.readF32(acc), sum, TOLERANCES.elementwise_f32);
      expectClose('fill', await rt.readF32(filled), new Float64Array(count).fill(-0.75), TOLERANCES.elementwise_f32);
      expectClose(
        'scale',
        await rt.readF32(scaled),
        Float64Array.from(b, (v) => v * 1.5),
        TOLERANCES.elementwise_f32,
      );
      rt.memory.destroyOwner('test');
      rt.memory.destroyOwner('test-output');
    });
  }

  it('folds a launch past the per-dimension workgroup limit into a non-square 2-D grid (limit lowered to 7)', async () => {
    const rt = await testRuntime();
    const rng = seededRng('elementwise 2-D grid');
    const count = 40 * 64 - 13; // 40 workgroups of 64 (the last partial), folded as 7 × 6: x ≠ y, one slot left over
    const a = rng.f32(count);
    const b = rng.f32(count);
    const y = poisonedF32(rt, 'y', count);
    const rec = rt.recorder('elementwise 2-D');
    await residualForward(
      rt,
      rec,
      { a: rt.uploadF32('test', 'a', a), b: rt.uploadF32('test', 'b', b), y, count },
      { WG: 64, maxWorkgroupsPerDim: 7 },
    );
    await rec.submit();
    expectClose(
      'y = a + b',
      await rt.readF32(y),
      Float64Array.from(a, (v, i) => v + b[i]!),
      TOLERANCES.elementwise_f32,
    );
    rt.memory.destroyOwner('test');
    rt.memory.destroyOwner('test-output');
  });
});
