import { describe, expect, it } from 'vitest';
import { checkSegmentIds, segmentIdsFromLengths } from '../../src/kernels/attention.ts';
import { Rng } from '../harness/rng.ts';
import { type AttentionRefShape, attentionBackwardRef, attentionForwardRef } from '../reference/attention.ts';

/** Central differences of L = Σ dout ⊙ out against the hand-written backward, on every input element. */
function checkGradients(shape: AttentionRefShape, seed: number): void {
  const rng = new Rng(seed);
  const { B, T, H, Hkv, D } = shape;
  const q = Array.from({ length: B * T * H * D }, () => 2 * rng.uniform());
  const k = Array.from({ length: B * T * Hkv * D }, () => 2 * rng.uniform());
  const v = Array.from({ length: B * T * Hkv * D }, () => rng.uniform());
  const dout = Array.from({ length: B * T * H * D }, () => rng.uniform());
  const loss = (qv: number[], kv: number[], vv: number[]) =>
    attentionForwardRef(shape, qv, kv, vv).out.reduce((s, o, i) => s + o * dout[i]!, 0);
  const h = 1e-6;
  const fd = (x: number[], i: number, f: (p: number[]) => number) => {
    const p = [...x];
    const m = [...x];
    p[i]! += h;
    m[i]! -= h;
    return (f(p) - f(m)) / (2 * h);
  };
  const { dq, dk, dv } = attentionBackwardRef(shape, q, k, v, dout);
  let worst = 0;
  q.forEach((_, i) => (worst = Math.max(worst, Math.abs(fd(q, i, (p) => loss(p, k, v)) - dq[i]!))));
  k.forEach((_, i) => (worst = Math.max(worst, Math.abs(fd(k, i, (p) => loss(q, p, v)) - dk[i]!))));
  v.forEach((_, i) => (worst = Math.max(worst, Math.abs(fd(v, i, (p) => loss(q, k, p)) - dv[i]!))));
  expect(worst).toBeLessThan(1e-7);
  // The gradients are not trivially zero (the check would pass vacuously otherwise).
  expect(Math.max(...dq.map(Math.abs))).toBeGreaterThan(1e-3);
  expect(Math.max(...dk.map(Math.abs))).toBeGreaterThan(1e-3);
}

describe('attention float64 reference', () => {
  it('backward matches central finite differences (GQA 2, plain causal)', () => {
    checkGradients({ B: 1, T: 5, H: 4, Hkv: 2, D: 3, scale: 0.7, window: 0, softcap: 0 }, 11);
  });
  it('backward matches central finite differences (soft-cap, window, segments, B = 2, GQA 3)', () => {
    checkGradients(
      {
        B: 2,
        T: 6,
        H: 3,
        Hkv: 1,
        D: 2,
        scale: 1.3,
        window: 3,
        softcap: 1.5,
        segments: [0, 0, 0, 1, 1, 1, 4, 4, 5, 5, 5, 5],
      },
      12,
    );
  });

  it('forward rows are convex combinations of allowed values and the lse matches its definition', () => {
    const rng = new Rng(5);
    const shape: AttentionRefShape = {
      B: 1,
      T: 4,
      H: 2,
      Hkv: 1,
      D: 2,
      scale: 1,
      window: 2,
      softcap: 0,
      segments: [7, 7, 8, 8],
    };
    const q = Array.from({ length: 16 }, () => rng.uniform());
    const k = Array.from({ length: 8 }, () => rng.uniform());
    const v = Array.from({ length: 8 }, () => rng.uniform());
    const { out, lse } = attentionForwardRef(shape, q, k, v);
    // Token 0 and token 2 see only themselves (segment start): out = v of that token, lse = own logit.
    for (const t of [0, 2]) {
      for (let h = 0; h < 2; h++) {
        expect(out[(t * 2 + h) * 2]).toBeCloseTo(v[t * 2]!, 14);
        expect(out[(t * 2 + h) * 2 + 1]).toBeCloseTo(v[t * 2 + 1]!, 14);
        const x = q[(t * 2 + h) * 2]! * k[t * 2]! + q[(t * 2 + h) * 2 + 1]! * k[t * 2 + 1]!;
        expect(lse[t * 2 + h]).toBeCloseTo(x, 14);
      }
    }
    // Token 3 sees tokens 2 and 3 only (window 2, same segment).
    const x2 = q[6 * 2]! * k[4]! + q[6 * 2 + 1]! * k[5]!;
    const x3 = q[6 * 2]! * k[6]! + q[6 * 2 + 1]! * k[7]!;
    expect(lse[6]).toBeCloseTo(Math.log(Math.exp(x2) + Math.exp(x3)), 14);
  });
});

describe('packing helpers', () => {
  it('segment ids and restarting positions from example lengths, padding as its own segment', () => {
    const { segments, positions } = segmentIdsFromLengths([[2, 3], [6]], 6);
    expect(Array.from(segments)).toEqual([0, 0, 1, 1, 1, 2, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(positions)).toEqual([0, 1, 0, 1, 2, 0, 0, 1, 2, 3, 4, 5]);
    expect(() => checkSegmentIds(segments, 2, 6)).not.toThrow();
    expect(() => checkSegmentIds([0, 1, 0], 1, 3)).toThrow(/decrease/);
    expect(() => segmentIdsFromLengths([[4, 3]], 6)).toThrow(RangeError);
  });
});
