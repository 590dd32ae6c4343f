import { describe, expect, it } from 'vitest';
import { ropeInvFreq, ropeTurnTable, turnTableFrequency } from '../../src/kernels/rope-freqs.ts';
import { Rng } from '../harness/rng.ts';
import { ropeBackwardRef, ropeForwardRef } from '../reference/rope.ts';

describe('rope float64 reference', () => {
  it('backward matches central finite differences of the forward (partial rotary)', () => {
    const rng = new Rng(77);
    const [T, NH, D, rotDim] = [3, 2, 6, 4];
    const positions = [0, 5, 123456];
    const invFreq = ropeInvFreq({ theta: 10000, rotDim });
    const x = Array.from({ length: T * NH * D }, () => rng.uniform());
    const dy = Array.from({ length: T * NH * D }, () => rng.uniform());
    const loss = (xv: number[]) =>
      ropeForwardRef(xv, positions, invFreq, T, NH, D, rotDim).reduce((s, y, i) => s + y * dy[i]!, 0);
    const dx = ropeBackwardRef(dy, positions, invFreq, T, NH, D, rotDim);
    const h = 1e-6;
    x.forEach((_, i) => {
      const p = [...x];
      const m = [...x];
      p[i]! += h;
      m[i]! -= h;
      expect(Math.abs((loss(p) - loss(m)) / (2 * h) - dx[i]!)).toBeLessThan(1e-8);
    });
    // Pass-through dims (4, 5) are copied; position 0 is the identity.
    expect(dx[4]).toBe(dy[4]);
    expect(dx[5]).toBe(dy[5]);
    expect(Array.from(ropeForwardRef(x, positions, invFreq, T, NH, D, rotDim).subarray(0, NH * D))).toEqual(
      x.slice(0, NH * D),
    );
  });

  it('forward then backward is the identity (a rotation)', () => {
    const rng = new Rng(3);
    const x = Array.from({ length: 2 * 3 * 8 }, () => rng.uniform());
    const invFreq = ropeInvFreq({ theta: 500000, rotDim: 8 });
    const y = ropeForwardRef(x, [7, 99999], invFreq, 2, 3, 8, 8);
    ropeBackwardRef(y, [7, 99999], invFreq, 2, 3, 8, 8).forEach((v, i) => expect(v).toBeCloseTo(x[i]!, 12));
  });
});

describe('rope frequencies (float64)', () => {
  it('default: θ^(−2i/Drot)', () => {
    const f = ropeInvFreq({ theta: 10000, rotDim: 8 });
    expect(Array.from(f)).toEqual([1, 10000 ** -0.25, 10000 ** -0.5, 10000 ** -0.75]);
  });

  it('linear scaling divides every frequency by the factor', () => {
    const base = ropeInvFreq({ theta: 1e6, rotDim: 64 });
    const lin = ropeInvFreq({ theta: 1e6, rotDim: 64, scaling: { type: 'linear', factor: 4 } });
    lin.forEach((f, i) => expect(f).toBe(base[i]! / 4));
  });

  it('llama3 scaling: wavelength bands of Llama 3.1 (θ 500000, factor 8, low 1, high 4, context 8192)', () => {
    const rotDim = 128;
    const scaling = {
      type: 'llama3',
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 8192,
    } as const;
    const base = ropeInvFreq({ theta: 500000, rotDim });
    const got = ropeInvFreq({ theta: 500000, rotDim, scaling });
    let high = 0;
    let low = 0;
    let mid = 0;
    for (let i = 0; i < rotDim / 2; i++) {
      const f = 500000 ** (-(2 * i) / rotDim);
      const wavelen = (2 * Math.PI) / f;
      let want: number;
      if (wavelen < 8192 / 4) {
        want = f;
        high++;
      } else if (wavelen > 8192 / 1) {
        want = f / 8;
        low++;
      } else {
        const s = (8192 / wavelen - 1) / (4 - 1);
        want = (1 - s) * (f / 8) + s * f;
        mid++;
      }
      expect(got[i]).toBeCloseTo(want, 15);
      expect(base[i]).toBe(f);
    }
    // All three bands occur for these settings.
    expect([high > 0, low > 0, mid > 0]).toEqual([true, true, true]);
    // Continuity at the band edges: the smoothed value stays between f/factor and f.
    got.forEach((g, i) => {
      expect(g).toBeLessThanOrEqual(base[i]! * (1 + 1e-15));
      expect(g).toBeGreaterThanOrEqual((base[i]! / 8) * (1 - 1e-15));
    });
  });

  it('turn table holds f/2π to 2⁻⁶⁴ turn', () => {
    const f = ropeInvFreq({ theta: 10000, rotDim: 16 });
    const table = ropeTurnTable(f);
    expect(table.length).toBe(16);
    f.forEach((fi, i) => expect(Math.abs(turnTableFrequency(table, i) - fi)).toBeLessThan(1e-15));
    // f = 1 rad per position: 1/2π = 0.15915494309189535 turn → hi word 0x28BE60DB.
    expect(table[0]).toBe(0x28be60db);
    expect(() => ropeInvFreq({ theta: 10000, rotDim: 7 })).toThrow(RangeError);
  });
});
