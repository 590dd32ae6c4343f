import { describe, expect, it } from 'vitest';
import { IGNORE_INDEX, countTrainedTokens, crossEntropyLoss, f32LmHead } from '../../src/kernels/cross_entropy.ts';
import type { GpuRuntime } from '../../src/gpu/runtime.ts';
import { expectClose } from '../harness/allclose.ts';
import { testRuntime } from '../harness/device.ts';
import { poisonedF32 } from '../harness/poison.ts';
import { type Rng, seededRng } from '../harness/rng.ts';
import { raggedShapes, raggedSize } from '../harness/shapes.ts';
import { TOLERANCES } from '../harness/tolerances.ts';
import { crossEntropyRef } from '../reference/cross_entropy.ts';

interface Case {
  T: number;
  V: number;
  C: number;
  chunk: number;
  softcap: number;
  /** Separate u32 mask buffer as well as ignore-index targets. */
  mask: boolean;
  /** Scale of h (logit magnitude ≈ hScale · √C / 2). */
  hScale: number;
}

/** V not a multiple of the 64-wide matmul tile nor of the 256-wide row workgroup; T not a multiple of the chunk. */
const CASES: Case[] = [
  { T: 13, V: 1000, C: 48, chunk: 5, softcap: 0, mask: true, hScale: 1 },
  { T: 13, V: 1000, C: 48, chunk: 5, softcap: 30, mask: false, hScale: 12 },
  { T: 6, V: 77, C: 17, chunk: 1, softcap: 0, mask: false, hScale: 2 },
  { T: 6, V: 77, C: 17, chunk: 1, softcap: 5, mask: true, hScale: 2 },
  { T: 1, V: 3, C: 4, chunk: 4, softcap: 0, mask: false, hScale: 1 },
  { T: 5, V: 3, C: 1, chunk: 4, softcap: 0, mask: false, hScale: 1 },
  { T: 9, V: 300, C: 20, chunk: 64, softcap: 30, mask: true, hScale: 6 },
  ...raggedShapes('cross_entropy', 1, (r): Case => ({
    T: raggedSize(r, 1, 40),
    V: raggedSize(r, 3, 1500),
    C: raggedSize(r, 1, 64),
    chunk: raggedSize(r, 1, 64),
    softcap: r.next() < 0.5 ? 0 : 30,
    mask: r.next() < 0.5,
    hScale: 2,
  })),
];

function makeTargets(rng: Rng, T: number, V: number): { targets: Uint32Array; mask: Uint32Array } {
  const targets = new Uint32Array(T);
  const mask = new Uint32Array(T);
  for (let t = 0; t < T; t++) {
    targets[t] = rng.int(0, V);
    mask[t] = rng.next() < 0.75 ? 1 : 0;
  }
  // Ignore-index tokens (not for T = 1, which must train for its loss to mean anything).
  if (T > 2) targets[1] = IGNORE_INDEX;
  if (T > 4) targets[T - 2] = IGNORE_INDEX;
  mask[0] = 1;
  targets[0] = V - 1; // the last vocabulary column, past the last full tile
  return { targets, mask };
}

function uploadU32(rt: GpuRuntime, label: string, data: Uint32Array): GPUBuffer {
  return rt.memory.upload('test', label, data).buffer;
}

describe('cross-entropy with the f32 head (shaders/cross_entropy.wgsl)', () => {
  for (const c of CASES) {
    const name = `T=${c.T} V=${c.V} C=${c.C} chunk=${c.chunk} softcap=${c.softcap}${c.mask ? ' +mask' : ''}`;
    it(`loss, per-token losses, dh and the last chunk's dlogits: ${name}`, async () => {
      const rt = await testRuntime();
      const rng = seededRng(`cross_entropy ${name}`);
      const { T, V, C } = c;
      const h = rng.f32(T * C, -c.hScale, c.hScale);
      const w = rng.f32(V * C);
      const { targets, mask } = makeTargets(rng, T, V);
      const maskArg = c.mask ? mask : undefined;
      const trained = countTrainedTokens(targets, V, maskArg);
      const ref = crossEntropyRef(h, w, targets, maskArg, T, V, C, c.softcap);
      expect(trained).toBe(ref.trained);
      expect(trained).toBeGreaterThan(0);
      const Tc = Math.min(c.chunk, T);
      const wb = rt.uploadF32('test', 'w', w);
      const head = f32LmHead(rt, wb, V, C, poisonedF32(rt, 'head-scratch', Tc * C));
      const logits = poisonedF32(rt, 'logits', Tc * V);
      const losses = poisonedF32(rt, 'losses', T);
      const loss = poisonedF32(rt, 'loss', 1);
      const dh = poisonedF32(rt, 'dh', T * C);
      const rec = rt.recorder('cross_entropy');
      await crossEntropyLoss(rt, rec, {
        head,
        h: rt.uploadF32('test', 'h', h),
        targets: uploadU32(rt, 'targets', targets),
        ...(maskArg ? { mask: uploadU32(rt, 'mask', maskArg) } : {}),
        T,
        chunkTokens: c.chunk,
        logits,
        losses,
        loss,
        scale: 1 / trained,
        softcap: c.softcap,
        dh,
      });
      await rec.submit();
      expectClose(
        'loss (mean over trained tokens)',
        await rt.readF32(loss),
        [ref.loss],
        TOLERANCES.cross_entropy_loss_f32,
      );
      expectClose('per-token losses', await rt.readF32(losses), ref.losses, TOLERANCES.cross_entropy_loss_f32);
      expectClose('dh', await rt.readF32(dh), ref.dh, TOLERANCES.cross_entropy_grad_f32);
      // The logits scratch ends holding the last chunk's dlogits.
      const t0 = Math.floor((T - 1) / Tc) * Tc;
      const rows = T - t0;
      expectClose(
        'dlogits of the last chunk',
        (await rt.readF32(logits)).subarray(0, rows * V),
        ref.dlogits.subarray(t0 * V, T * V),
        TOLERANCES.cross_entropy_grad_f32,
      );
      rt.memory.destroyOwner('test');
      rt.memory.destroyOwner('test-output');
    });
  }

  it('evaluation (no dh) leaves the logits alone; accumulateLoss adds micro-batch losses; a fully masked batch gives 0', async () => {
    const rt = await testRuntime();
    const rng = seededRng('cross_entropy eval + accumulate');
    const [T, V, C, chunk] = [7, 130, 9, 3];
    const h1 = rng.f32(T * C, -2, 2);
    const h2 = rng.f32(T * C, -2, 2);
    const w = rng.f32(V * C);
    const a = makeTargets(rng, T, V);
    const b = makeTargets(rng, T, V);
    // The scale spans both micro-batches: the loss is the mean over all their trained tokens.
    const total = countTrainedTokens(a.targets, V) + countTrainedTokens(b.targets, V);
    const wb = rt.uploadF32('test', 'w', w);
    const head = f32LmHead(rt, wb, V, C, poisonedF32(rt, 'head-scratch', chunk * C));
    const logits = poisonedF32(rt, 'logits', chunk * V);
    const losses = poisonedF32(rt, 'losses', T);
    const loss = rt.uploadF32('test', 'loss', [123]);
    const common = { head, T, chunkTokens: chunk, logits, losses, loss, scale: 1 / total };
    const rec = rt.recorder('cross_entropy eval');
    await crossEntropyLoss(rt, rec, {
      ...common,
      h: rt.uploadF32('test', 'h1', h1),
      targets: uploadU32(rt, 't1', a.targets),
    });
    await crossEntropyLoss(rt, rec, {
      ...common,
      h: rt.uploadF32('test', 'h2', h2),
      targets: uploadU32(rt, 't2', b.targets),
      accumulateLoss: true,
    });
    await rec.submit();
    const r1 = crossEntropyRef(h1, w, a.targets, undefined, T, V, C, 0, 1 / total);
    const r2 = crossEntropyRef(h2, w, b.targets, undefined, T, V, C, 0, 1 / total);
    expectClose('accumulated loss', await rt.readF32(loss), [r1.loss + r2.loss], TOLERANCES.cross_entropy_loss_f32);
    expectClose(
      'per-token losses of the second batch',
      await rt.readF32(losses),
      r2.losses,
      TOLERANCES.cross_entropy_loss_f32,
    );
    // Without dh the last chunk's raw logits stay in the scratch: h2[t0:T] · Wᵀ.
    const t0 = Math.floor((T - 1) / chunk) * chunk;
    const want: number[] = [];
    for (let t = t0; t < T; t++)
      for (let v = 0; v < V; v++)
        want.push(Array.from({ length: C }, (_, k) => h2[t * C + k]! * w[v * C + k]!).reduce((s, x) => s + x, 0));
    expectClose('logits untouched', (await rt.readF32(logits)).subarray(0, want.length), want, TOLERANCES.matmul_f32);

    const none = new Uint32Array(T).fill(IGNORE_INDEX);
    const dh = poisonedF32(rt, 'dh', T * C);
    const loss0 = poisonedF32(rt, 'loss0', 1);
    const rec2 = rt.recorder('cross_entropy all masked');
    await crossEntropyLoss(rt, rec2, {
      ...common,
      loss: loss0,
      scale: 0,
      h: rt.uploadF32('test', 'h3', h1),
      targets: uploadU32(rt, 't3', none),
      dh,
    });
    await rec2.submit();
    expectClose('loss of a fully masked batch', await rt.readF32(loss0), [0], TOLERANCES.cross_entropy_loss_f32);
    expectClose(
      'dh of a fully masked batch',
      await rt.readF32(dh),
      new Float64Array(T * C),
      TOLERANCES.cross_entropy_grad_f32,
    );
    rt.memory.destroyOwner('test');
    rt.memory.destroyOwner('test-output');
  });
});
