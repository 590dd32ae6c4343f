/**
 * One attention test case on the GPU against the float64 reference: random inputs from the test's seeded
 * generator, outputs poisoned with NaN, forward (out, lse) and backward (dq, dk, dv) compared element-wise.
 * Shared by attention.test.ts and attention-large.test.ts.
 */
import {
  type AttentionTiles,
  attentionBackward,
  attentionForward,
  attentionStatsFloats,
  segmentIdsFromLengths,
} from '../../src/kernels/attention.ts';
import type { GpuRuntime } from '../../src/gpu/runtime.ts';
import { expectClose } from '../harness/allclose.ts';
import { poisonedF32 } from '../harness/poison.ts';
import type { Rng } from '../harness/rng.ts';
import { TOLERANCES } from '../harness/tolerances.ts';
import { type AttentionRefShape, attentionBackwardRef, attentionForwardRef } from '../reference/attention.ts';

export interface AttentionCase {
  name: string;
  B: number;
  T: number;
  H: number;
  Hkv: number;
  D: number;
  window?: number;
  softcap?: number;
  scale?: number;
  /** Packed example lengths per row (segment ids), or undefined. */
  packed?: number[][];
  /** Explicit tiles for forward, dq and dk/dv (default: the device's choice). */
  tiles?: AttentionTiles;
  backward?: boolean;
}

/** Inputs scaled so logits spread over a few units (a near-uniform softmax would test little). */
function inputs(rng: Rng, c: AttentionCase) {
  const n = c.B * c.T;
  const amp = Math.sqrt(6 / ((c.scale ?? 1 / Math.sqrt(c.D)) * Math.sqrt(c.D)));
  return {
    q: rng.f32(n * c.H * c.D, -amp, amp),
    k: rng.f32(n * c.Hkv * c.D, -amp, amp),
    v: rng.f32(n * c.Hkv * c.D),
    dout: rng.f32(n * c.H * c.D),
  };
}

export async function runAttentionCase(rt: GpuRuntime, c: AttentionCase, rng: Rng): Promise<void> {
  const n = c.B * c.T;
  const x = inputs(rng, c);
  const seg = c.packed ? segmentIdsFromLengths(c.packed, c.T).segments : undefined;
  const ref: AttentionRefShape = {
    B: c.B,
    T: c.T,
    H: c.H,
    Hkv: c.Hkv,
    D: c.D,
    scale: c.scale ?? 1 / Math.sqrt(c.D),
    window: c.window ?? 0,
    softcap: c.softcap ?? 0,
    segments: seg,
  };
  const shape = {
    B: c.B,
    T: c.T,
    H: c.H,
    Hkv: c.Hkv,
    D: c.D,
    scale: c.scale,
    window: c.window,
    softcap: c.softcap,
    segments: seg ? rt.memory.upload('test', 'segments', seg).buffer : undefined,
  };
  const q = rt.uploadF32('test', 'q', x.q);
  const k = rt.uploadF32('test', 'k', x.k);
  const v = rt.uploadF32('test', 'v', x.v);
  const out = poisonedF32(rt, 'out', n * c.H * c.D);
  const lse = poisonedF32(rt, 'lse', n * c.H);
  const rec = rt.recorder('attention');
  await attentionForward(rt, rec, { ...shape, q, k, v, out, lse }, c.tiles);
  const backward = c.backward !== false;
  const dq = poisonedF32(rt, 'dq', n * c.H * c.D);
  const dk = poisonedF32(rt, 'dk', n * c.Hkv * c.D);
  const dv = poisonedF32(rt, 'dv', n * c.Hkv * c.D);
  if (backward) {
    const dout = rt.uploadF32('test', 'dout', x.dout);
    const stats = poisonedF32(rt, 'stats', attentionStatsFloats(shape));
    await attentionBackward(
      rt,
      rec,
      { ...shape, q, k, v, out, lse, dout, stats, dq, dk, dv },
      c.tiles ? { dq: c.tiles, dkdv: c.tiles } : {},
    );
  }
  await rec.submit();
  const want = attentionForwardRef(ref, x.q, x.k, x.v);
  expectClose(`${c.name}: out`, await rt.readF32(out), want.out, TOLERANCES.attention_out);
  expectClose(`${c.name}: lse`, await rt.readF32(lse), want.lse, TOLERANCES.attention_lse);
  if (backward) {
    const g = attentionBackwardRef(ref, x.q, x.k, x.v, x.dout);
    expectClose(`${c.name}: dq`, await rt.readF32(dq), g.dq, TOLERANCES.attention_grad);
    expectClose(`${c.name}: dk`, await rt.readF32(dk), g.dk, TOLERANCES.attention_grad);
    expectClose(`${c.name}: dv`, await rt.readF32(dv), g.dv, TOLERANCES.attention_grad);
  }
  rt.memory.destroyOwner('test');
  rt.memory.destroyOwner('test-output');
}
