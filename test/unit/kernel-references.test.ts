/**
 * Finite-difference checks of the float64 backward references (rmsnorm, glu, cross-entropy, lora) and
 * known-answer checks of the AdamW / gradient-norm references and the LoRA dropout hash.
 */
import { describe, expect, it } from 'vitest';
import { linearGrid } from '../../src/kernels/grid.ts';
import { dropoutThreshold, loraScratchFloats, skinnyTiles } from '../../src/kernels/lora.ts';
import { Rng } from '../harness/rng.ts';
import { adamwStepRef, gradNormRef } from '../reference/adamw.ts';
import { crossEntropyRef } from '../reference/cross_entropy.ts';
import { type Act, gluBackwardRef, gluForwardRef } from '../reference/glu.ts';
import { dropoutMultiplierRef, loraBackwardRef, loraForwardRef, pcg4dX } from '../reference/lora.ts';
import { rmsnormBackwardRef, rmsnormForwardRef } from '../reference/rmsnorm.ts';
import { dotLoss, expectGradMatchesFd } from './fd.ts';

const arr = (rng: Rng, n: number, lo = -1, hi = 1) => Array.from({ length: n }, () => rng.uniform(lo, hi));

describe('rmsnorm reference', () => {
  for (const gemma of [false, true]) {
    it(`backward matches finite differences (${gemma ? 'gemma 1 + w' : 'w'})`, () => {
      const rng = new Rng(11 + Number(gemma));
      const [N, C, eps] = [3, 5, 1e-5];
      const x = arr(rng, N * C);
      const w = arr(rng, C);
      const dy = arr(rng, N * C);
      const { dx, dw } = rmsnormBackwardRef(x, w, dy, N, C, eps, gemma);
      expectGradMatchesFd('dx', x, dx, (p) => dotLoss(rmsnormForwardRef(p, w, N, C, eps, gemma).y, dy));
      expectGradMatchesFd('dw', w, dw, (p) => dotLoss(rmsnormForwardRef(x, p, N, C, eps, gemma).y, dy));
    });
  }
  it('normalises rows to unit RMS (times w)', () => {
    const x = [3, 4, 0, 0];
    const { y, rstd } = rmsnormForwardRef(x, [1, 1, 1, 1], 1, 4, 0);
    expect(rstd[0]).toBeCloseTo(1 / 2.5, 12);
    expect(Array.from(y)).toEqual([1.2, 1.6, 0, 0].map((v) => expect.closeTo(v, 12)));
  });
});

describe('glu reference', () => {
  for (const act of ['silu', 'gelu_tanh'] as Act[]) {
    it(`${act}: backward matches finite differences`, () => {
      const rng = new Rng(act === 'silu' ? 21 : 22);
      const n = 12;
      const gate = arr(rng, n, -6, 6);
      const up = arr(rng, n, -2, 2);
      const dout = arr(rng, n);
      const { dgate, dup } = gluBackwardRef(act, gate, up, dout);
      expectGradMatchesFd('dgate', gate, dgate, (p) => dotLoss(gluForwardRef(act, p, up), dout));
      expectGradMatchesFd('dup', up, dup, (p) => dotLoss(gluForwardRef(act, gate, p), dout));
    });
  }
  it('silu and gelu_tanh hit known values', () => {
    expect(gluForwardRef('silu', [1], [1])[0]).toBeCloseTo(1 / (1 + Math.exp(-1)), 14);
    // gelu_tanh(1) = 0.8411919906082768 (tanh approximation)
    expect(gluForwardRef('gelu_tanh', [1], [2])[0]).toBeCloseTo(2 * 0.8411919906082768, 12);
  });
});

describe('cross-entropy reference', () => {
  for (const softcap of [0, 3]) {
    it(`dh and dlogits match finite differences of the mean loss (softcap ${softcap}, masked tokens)`, () => {
      const rng = new Rng(31 + softcap);
      const [T, V, C] = [4, 7, 3];
      const h = arr(rng, T * C, -2, 2);
      const w = arr(rng, V * C, -2, 2);
      const targets = [2, 0xffffffff, 6, 1];
      const mask = [1, 1, 1, 0];
      const ref = crossEntropyRef(h, w, targets, mask, T, V, C, softcap);
      expect(ref.trained).toBe(2);
      expect(ref.losses[1]).toBe(0);
      expect(ref.losses[3]).toBe(0);
      expectGradMatchesFd('dh', h, ref.dh, (p) => crossEntropyRef(p, w, targets, mask, T, V, C, softcap).loss);
      // dlogits: perturb the logits through h of a one-hot C = V head (logits = h).
      const eye = Array.from({ length: V * V }, (_, i) => (Math.floor(i / V) === i % V ? 1 : 0));
      const logits = Array.from({ length: T * V }, (_, i) => {
        const t = Math.floor(i / V);
        const v = i % V;
        let s = 0;
        for (let c = 0; c < C; c++) s += h[t * C + c]! * w[v * C + c]!;
        return s;
      });
      const viaEye = crossEntropyRef(logits, eye, targets, mask, T, V, V, softcap);
      expect(viaEye.loss).toBeCloseTo(ref.loss, 12);
      expectGradMatchesFd(
        'dlogits',
        logits,
        viaEye.dlogits,
        (p) => crossEntropyRef(p, eye, targets, mask, T, V, V, softcap).loss,
      );
    });
  }
  it('is log V for uniform logits and skips every masked token', () => {
    const ref = crossEntropyRef([0, 0, 0, 0], new Array(10).fill(1), [0, 4], undefined, 2, 5, 2);
    expect(ref.loss).toBeCloseTo(Math.log(5), 12);
    const none = crossEntropyRef([0, 0], new Array(6).fill(1), [0xffffffff], undefined, 1, 3, 2);
    expect(none.trained).toBe(0);
    expect(none.loss).toBe(0);
  });
});

describe('lora reference', () => {
  for (const p of [0, 0.3]) {
    it(`dA, dB, dx match finite differences (dropout p = ${p})`, () => {
      const rng = new Rng(41 + p * 10);
      const [N, K, M, R, s] = [3, 5, 4, 2, 1.7];
      const d = { p, seed: 1234, moduleId: 7 };
      const x = arr(rng, N * K);
      const A = arr(rng, R * K);
      const B = arr(rng, M * R);
      const dy = arr(rng, N * M);
      const g = loraBackwardRef(x, A, B, dy, N, K, M, R, s, d);
      const L = (xv: number[], av: number[], bv: number[]) =>
        dotLoss(loraForwardRef(xv, av, bv, N, K, M, R, s, d).yAdd, dy);
      expectGradMatchesFd('dA', A, g.dA, (q) => L(x, q, B));
      expectGradMatchesFd('dB', B, g.dB, (q) => L(x, A, q));
      expectGradMatchesFd('dx', x, g.dx, (q) => L(q, A, B));
    });
  }
  it('pcg4d dropout keeps 1 − p of the elements, independently of neighbours, seeds and modules', () => {
    const p = 0.25;
    const d = { p, seed: 99, moduleId: 3 };
    const [N, K] = [200, 300];
    let kept = 0;
    let bothRight = 0;
    let bothDown = 0;
    let sameOtherModule = 0;
    let sameOtherSeed = 0;
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < K; k++) {
        const a = dropoutMultiplierRef(d, n, k) > 0;
        kept += Number(a);
        if (k + 1 < K) bothRight += Number(a && dropoutMultiplierRef(d, n, k + 1) > 0);
        if (n + 1 < N) bothDown += Number(a && dropoutMultiplierRef(d, n + 1, k) > 0);
        sameOtherModule += Number(a === dropoutMultiplierRef({ ...d, moduleId: 4 }, n, k) > 0);
        sameOtherSeed += Number(a === dropoutMultiplierRef({ ...d, seed: 100 }, n, k) > 0);
      }
    }
    const total = N * K;
    const sigma = Math.sqrt((p * (1 - p)) / total);
    expect(Math.abs(kept / total - (1 - p))).toBeLessThan(5 * sigma);
    // Pairs kept together at the rate of independent draws, (1 − p)².
    expect(Math.abs(bothRight / (N * (K - 1)) - (1 - p) ** 2)).toBeLessThan(0.01);
    expect(Math.abs(bothDown / ((N - 1) * K) - (1 - p) ** 2)).toBeLessThan(0.01);
    // Another module or seed agrees only as often as independent masks do: p² + (1 − p)².
    const agree = p * p + (1 - p) ** 2;
    expect(Math.abs(sameOtherModule / total - agree)).toBeLessThan(0.01);
    expect(Math.abs(sameOtherSeed / total - agree)).toBeLessThan(0.01);
  });
  it('pcg4d matches values computed independently (Python, explicit u32 arithmetic): pins the hash the shader implements', () => {
    expect(pcg4dX(0, 0, 0, 0)).toBe(251852841);
    expect(pcg4dX(1, 2, 3, 4)).toBe(908250390);
    expect(pcg4dX(4095, 8191, 17, 0xdeadbeef)).toBe(676377233);
  });
  it('dropout threshold is round(p · 2³²) and refuses p outside [0, 1)', () => {
    expect(dropoutThreshold(0)).toBe(0);
    expect(dropoutThreshold(0.5)).toBe(2 ** 31);
    expect(dropoutThreshold(0.9999999999999)).toBeLessThanOrEqual(0xffffffff);
    expect(() => dropoutThreshold(1)).toThrow(RangeError);
    expect(() => dropoutThreshold(-0.1)).toThrow(RangeError);
  });
  it('skinny tiles cover R with ≤ 64 columns and fit 16 KiB of workgroup memory', () => {
    for (const R of [1, 4, 5, 8, 16, 17, 32, 64, 100]) {
      const t = skinnyTiles(R);
      expect(4 * t.SK_WG_C).toBeGreaterThanOrEqual(Math.min(R, 64));
      expect(t.SK_TILE_K * 4 * (t.SK_WG_R + t.SK_WG_C) * 4).toBeLessThanOrEqual(16384);
      expect(t.SK_WG_C * t.SK_WG_R).toBeLessThanOrEqual(256);
    }
    expect(loraScratchFloats({ N: 4096, K: 4096, M: 4096, R: 16 })).toBeGreaterThan(4096 * 16);
    expect(loraScratchFloats({ N: 10, K: 10, M: 10, R: 4 })).toBe(1);
  });
});

describe('adamw reference', () => {
  it('first step moves each weight by lr·sign(g) (bias-corrected), plus decoupled decay', () => {
    const h = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 0, weightDecay: 0.1 };
    const p = new Float64Array([1, -2, 0.5]);
    const m = new Float64Array(3);
    const v = new Float64Array(3);
    adamwStepRef(p, [0.3, -4, 1e-3], m, v, h, 1);
    expect(p[0]).toBeCloseTo(1 * (1 - 0.001) - 0.01, 14);
    expect(p[1]).toBeCloseTo(-2 * (1 - 0.001) + 0.01, 14);
    expect(p[2]).toBeCloseTo(0.5 * (1 - 0.001) - 0.01, 14);
  });
  it('gradient norm and clip factor', () => {
    const { norm, clip } = gradNormRef([[3], [4, 0]], 2, 5);
    expect(norm).toBeCloseTo(10, 14);
    expect(clip).toBeCloseTo(5 / (10 + 1e-6), 14);
    expect(gradNormRef([[3], [4]], 1, 0).clip).toBe(1);
    expect(gradNormRef([[0.3], [0.4]], 1, 1).clip).toBe(1);
  });
});

describe('linearGrid', () => {
  it('folds launches past the per-dimension limit into 2-D with at most one partial row', () => {
    expect(linearGrid(10, 65535)).toEqual([10, 1]);
    expect(linearGrid(0, 65535)).toEqual([0, 1]);
    for (const [count, max] of [
      [99, 10],
      [100, 10],
      [65536, 65535],
      [1_000_000, 65535],
    ] as const) {
      const [x, y] = linearGrid(count, max);
      expect(x).toBeLessThanOrEqual(max);
      expect(x * y).toBeGreaterThanOrEqual(count);
      expect(x * (y - 1)).toBeLessThan(count);
    }
    expect(() => linearGrid(101, 10)).toThrow(RangeError);
  });
});
