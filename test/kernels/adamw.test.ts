import { describe, expect, it } from 'vitest';
import { adamwStep, gradNorm, gradNormPartialCount } from '../../src/kernels/adamw.ts';
import { expectClose } from '../harness/allclose.ts';
import { testRuntime } from '../harness/device.ts';
import { poisonedF32 } from '../harness/poison.ts';
import { seededRng } from '../harness/rng.ts';
import { raggedShapes, raggedSize } from '../harness/shapes.ts';
import { TOLERANCES } from '../harness/tolerances.ts';
import { adamwStepRef, gradNormRef } from '../reference/adamw.ts';

/** A fourth parameter buffer's size, drawn per seed (sizes below and above one 256-wide workgroup). */
const DRAWN_SIZE = raggedShapes('adamw', 1, (r) => raggedSize(r, 1, 3000));

const HYPER = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

describe('adamw and the global gradient norm (shaders/adamw.wgsl)', () => {
  for (const [maxNorm, label] of [
    [0.5, 'clipping active'],
    [1e6, 'clip threshold not reached'],
    [0, 'clipping off'],
  ] as const) {
    it(`several steps over three parameter buffers with gradient scale and norm (${label})`, async () => {
      const rt = await testRuntime();
      const rng = seededRng(`adamw ${label}`);
      // Ragged sizes: 1, one below a workgroup, and enough for several sum-of-squares workgroups; one drawn.
      const sizes = [1, 255, 4099, ...DRAWN_SIZE];
      const gradScale = 0.5; // e.g. averaging two accumulated micro-batches
      const params = sizes.map((n) => rng.f32(n));
      const refP = params.map((p) => Float64Array.from(p));
      const refM = sizes.map((n) => new Float64Array(n));
      const refV = sizes.map((n) => new Float64Array(n));
      const pb = params.map((p, i) => rt.uploadF32('test', `p${i}`, p));
      const mb = sizes.map((n, i) => rt.zerosF32('test', `m${i}`, n));
      const vb = sizes.map((n, i) => rt.zerosF32('test', `v${i}`, n));
      const partials = poisonedF32(rt, 'partials', gradNormPartialCount(sizes));
      for (let step = 1; step <= 4; step++) {
        const grads = sizes.map((n) => rng.f32(n, -0.2, 0.2));
        const gb = grads.map((g, i) => rt.uploadF32('test', `g${i}-${step}`, g));
        const stats = poisonedF32(rt, `stats-${step}`, 2);
        const rec = rt.recorder('adamw');
        await gradNorm(rt, rec, {
          grads: gb.map((buffer, i) => ({ buffer, count: sizes[i]! })),
          partials,
          stats,
          maxNorm,
          gradScale,
        });
        for (let i = 0; i < sizes.length; i++) {
          await adamwStep(rt, rec, {
            ...HYPER,
            param: pb[i]!,
            grad: gb[i]!,
            m: mb[i]!,
            v: vb[i]!,
            count: sizes[i]!,
            step,
            gradScale,
            stats,
          });
        }
        await rec.submit();
        const { norm, clip } = gradNormRef(grads, gradScale, maxNorm);
        expectClose(`step ${step} (norm, clip)`, await rt.readF32(stats), [norm, clip], TOLERANCES.grad_norm_f32);
        for (let i = 0; i < sizes.length; i++)
          adamwStepRef(refP[i]!, grads[i]!, refM[i]!, refV[i]!, HYPER, step, gradScale, clip);
        for (let i = 0; i < sizes.length; i++) {
          expectClose(`step ${step} param ${i}`, await rt.readF32(pb[i]!), refP[i]!, TOLERANCES.adamw_f32);
          expectClose(`step ${step} m ${i}`, await rt.readF32(mb[i]!), refM[i]!, TOLERANCES.adamw_m_f32);
          expectClose(`step ${step} v ${i}`, await rt.readF32(vb[i]!), refV[i]!, TOLERANCES.adamw_v_f32);
        }
      }
      rt.memory.destroyOwner('test');
      rt.memory.destroyOwner('test-output');
    });
  }

  it('without a stats buffer the gradient is only scaled (no clip read)', async () => {
    const rt = await testRuntime();
    const rng = seededRng('adamw no clip');
    const n = 300;
    const p = rng.f32(n);
    const g = rng.f32(n);
    const refP = Float64Array.from(p);
    const refM = new Float64Array(n);
    const refV = new Float64Array(n);
    const pb = rt.uploadF32('test', 'p', p);
    const mb = rt.zerosF32('test', 'm', n);
    const vb = rt.zerosF32('test', 'v', n);
    const rec = rt.recorder('adamw no clip');
    await adamwStep(rt, rec, {
      ...HYPER,
      param: pb,
      grad: rt.uploadF32('test', 'g', g),
      m: mb,
      v: vb,
      count: n,
      step: 1,
      gradScale: 2,
    });
    await rec.submit();
    adamwStepRef(refP, g, refM, refV, HYPER, 1, 2);
    expectClose('param', await rt.readF32(pb), refP, TOLERANCES.adamw_f32);
    expectClose('m', await rt.readF32(mb), refM, TOLERANCES.adamw_m_f32);
    expectClose('v', await rt.readF32(vb), refV, TOLERANCES.adamw_v_f32);
    rt.memory.destroyOwner('test');
    rt.memory.destroyOwner('test-output');
  });

  for (const [label, badLoss, badGrad] of [
    ['finite loss and gradients: the update runs', false, false],
    ['NaN loss: no update', true, false],
    ['Inf in a gradient: no update', false, true],
  ] as const) {
    it(`guarded by the loss and the norm (${label})`, async () => {
      const rt = await testRuntime();
      const rng = seededRng(`adamw guard ${label}`);
      const sizes = [7, 300];
      const params = sizes.map((n) => rng.f32(n));
      const grads = sizes.map((n) => rng.f32(n, -0.2, 0.2));
      if (badGrad) grads[1]![123] = Number.POSITIVE_INFINITY;
      const loss = badLoss ? Number.NaN : 2.5;
      const m0 = sizes.map((n) => rng.f32(n, -0.01, 0.01));
      const v0 = sizes.map((n) => rng.f32(n, 0, 1e-4));
      const pb = params.map((p, i) => rt.uploadF32('test', `p${i}`, p));
      const gb = grads.map((g, i) => rt.uploadF32('test', `g${i}`, g));
      const mb = m0.map((m, i) => rt.uploadF32('test', `m${i}`, m));
      const vb = v0.map((v, i) => rt.uploadF32('test', `v${i}`, v));
      const stats = poisonedF32(rt, 'stats', 4);
      const rec = rt.recorder('adamw guarded');
      await gradNorm(rt, rec, {
        grads: gb.map((buffer, i) => ({ buffer, count: sizes[i]! })),
        partials: poisonedF32(rt, 'partials', gradNormPartialCount(sizes)),
        stats,
        maxNorm: 0.5,
        guardLoss: rt.uploadF32('test', 'loss', [loss]),
      });
      for (let i = 0; i < sizes.length; i++) {
        await adamwStep(rt, rec, {
          ...HYPER,
          param: pb[i]!,
          grad: gb[i]!,
          m: mb[i]!,
          v: vb[i]!,
          count: sizes[i]!,
          step: 3,
          stats,
          guarded: true,
        });
      }
      await rec.submit();
      const got = await rt.readF32(stats);
      expect(got[3]).toBe(badLoss || badGrad ? 1 : 0);
      if (badLoss) expect(got[2]).toBeNaN();
      else expect(got[2]).toBe(loss);
      const refP = params.map((p) => Float64Array.from(p));
      const refM = m0.map((m) => Float64Array.from(m));
      const refV = v0.map((v) => Float64Array.from(v));
      if (!badLoss && !badGrad) {
        const { norm, clip } = gradNormRef(grads, 1, 0.5);
        expectClose('(norm, clip)', got.subarray(0, 2), [norm, clip], TOLERANCES.grad_norm_f32);
        for (let i = 0; i < sizes.length; i++) adamwStepRef(refP[i]!, grads[i]!, refM[i]!, refV[i]!, HYPER, 3, 1, clip);
      }
      for (let i = 0; i < sizes.length; i++) {
        // Skipped: bit for bit what was there; applied: the float64 reference step.
        if (badLoss || badGrad) {
          expect(Array.from(await rt.readF32(pb[i]!))).toEqual(Array.from(params[i]!));
          expect(Array.from(await rt.readF32(mb[i]!))).toEqual(Array.from(m0[i]!));
          expect(Array.from(await rt.readF32(vb[i]!))).toEqual(Array.from(v0[i]!));
        } else {
          expectClose(`param ${i}`, await rt.readF32(pb[i]!), refP[i]!, TOLERANCES.adamw_f32);
          expectClose(`m ${i}`, await rt.readF32(mb[i]!), refM[i]!, TOLERANCES.adamw_m_f32);
          expectClose(`v ${i}`, await rt.readF32(vb[i]!), refV[i]!, TOLERANCES.adamw_v_f32);
        }
      }
      rt.memory.destroyOwner('test');
      rt.memory.destroyOwner('test-output');
    });
  }
});
