import { describe, expect, it } from 'vitest';
import { packParams, u32Params } from '../../src/gpu/params.ts';
import { pipelineKey } from '../../src/gpu/pipelines.ts';
import { defineShader } from '../../src/gpu/shader.ts';
import { compareClose } from '../harness/allclose.ts';
import { Rng } from '../harness/rng.ts';
import { matmulBackwardInputRef, matmulBackwardWeightRef, matmulForwardRef } from '../reference/matmul.ts';

describe('pipeline keys', () => {
  it('do not depend on the order of override constants', () => {
    const shader = defineShader('m', '');
    const a = pipelineKey({ shader, entryPoint: 'e', constants: { A: 1, B: 2 } });
    const b = pipelineKey({ shader, entryPoint: 'e', constants: { B: 2, A: 1 } });
    expect(a).toBe(b);
    expect(pipelineKey({ shader, entryPoint: 'e', constants: { A: 2, B: 2 } })).not.toBe(a);
  });
});

describe('Params packing', () => {
  it('lays out 4-byte scalars in order, padded to 16 bytes', () => {
    const buf = packParams([
      ['u32', 7],
      ['f32', 0.5],
      ['i32', -3],
      ['u32', 1],
      ['u32', 2],
    ]);
    expect(buf.byteLength).toBe(32);
    const v = new DataView(buf);
    expect([v.getUint32(0, true), v.getFloat32(4, true), v.getInt32(8, true), v.getUint32(16, true)]).toEqual([
      7, 0.5, -3, 2,
    ]);
    expect(u32Params(1).byteLength).toBe(16);
    expect(() => u32Params(-1)).toThrow(RangeError);
  });
});

describe('allclose', () => {
  it('fails on NaN and reports the worst index', () => {
    const r = compareClose([1, Number.NaN, 3], [1, 2, 3], { atol: 1e-3, rtol: 0 });
    expect(r.ok).toBe(false);
    expect(r.nonFinite).toBe(1);
    expect(r.worstIndex).toBe(1);
  });
  it('applies atol + rtol·|ref|', () => {
    expect(compareClose([1.0011], [1], { atol: 1e-3, rtol: 0 }).ok).toBe(false);
    expect(compareClose([1.0011], [1], { atol: 1e-3, rtol: 1e-3 }).ok).toBe(true);
  });
  it('checks the norm-wise relative error', () => {
    expect(compareClose([1.01, 2.02], [1, 2], { atol: 1, rtol: 0, normRel: 1e-3 }).ok).toBe(false);
  });
  it('judges a single element by the element-wise bound only, NaN still failing', () => {
    expect(compareClose([1.01], [1], { atol: 0, rtol: 0.02, normRel: 1e-3 }).ok).toBe(true);
    expect(compareClose([1.03], [1], { atol: 0, rtol: 0.02, normRel: 1e-3 }).ok).toBe(false);
    expect(compareClose([Number.NaN], [1], { atol: 1, rtol: 1, normRel: 1 }).ok).toBe(false);
  });
});

describe('matmul float64 references', () => {
  it('backward references match central finite differences of the forward', () => {
    const rng = new Rng(1234);
    const [N, K, M] = [3, 4, 5];
    const x = Array.from({ length: N * K }, () => rng.uniform());
    const w = Array.from({ length: M * K }, () => rng.uniform());
    const dy = Array.from({ length: N * M }, () => rng.uniform());
    // L = Σ dy ⊙ y, so dL/dx = dx_ref and dL/dW = dW_ref.
    const loss = (xv: number[], wv: number[]) =>
      matmulForwardRef(xv, wv, undefined, N, K, M).reduce((s, y, i) => s + y * dy[i]!, 0);
    const h = 1e-6;
    const fd = (v: number[], i: number, f: (p: number[]) => number) => {
      const p = [...v];
      const q = [...v];
      p[i]! += h;
      q[i]! -= h;
      return (f(p) - f(q)) / (2 * h);
    };
    const dx = matmulBackwardInputRef(dy, w, N, K, M);
    const dw = matmulBackwardWeightRef(dy, x, N, K, M);
    x.forEach((_, i) => expect(Math.abs(fd(x, i, (p) => loss(p, w)) - dx[i]!)).toBeLessThan(1e-8));
    w.forEach((_, i) => expect(Math.abs(fd(w, i, (p) => loss(x, p)) - dw[i]!)).toBeLessThan(1e-8));
  });
});
