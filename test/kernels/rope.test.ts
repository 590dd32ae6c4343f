import { describe, expect, it } from 'vitest';
import { type RopeConfig, ropeInvFreq, ropeTurnTable } from '../../src/kernels/rope-freqs.ts';
import { ropeBackward, ropeBackwardQK, ropeForward, ropeForwardQK } from '../../src/kernels/rope.ts';
import { compareClose, expectClose } from '../harness/allclose.ts';
import { testRuntime } from '../harness/device.ts';
import { poisonedF32 } from '../harness/poison.ts';
import { type Rng, seededRng } from '../harness/rng.ts';
import { raggedShapes, raggedSize } from '../harness/shapes.ts';
import { TOLERANCES } from '../harness/tolerances.ts';
import { ropeBackwardRef, ropeForwardRef } from '../reference/rope.ts';

interface Case {
  name: string;
  tokens: number;
  heads: number;
  D: number;
  config: RopeConfig;
  /** Largest position drawn (positions are random in [0, maxPos], plus 0 and maxPos themselves). */
  maxPos: number;
}

const LLAMA3: RopeConfig['scaling'] = {
  type: 'llama3',
  factor: 8,
  lowFreqFactor: 1,
  highFreqFactor: 4,
  originalMaxPositionEmbeddings: 8192,
};

/** Ragged token counts (1, 7, 33, 100), partial rotary, odd D, the three frequency rules, positions up to 2²⁰. */
const CASES: Case[] = [
  {
    name: 'one token, llama default θ 10000',
    tokens: 1,
    heads: 1,
    D: 16,
    config: { theta: 10000, rotDim: 16 },
    maxPos: 5,
  },
  {
    name: 'partial rotary (Drot 12 of D 24), θ 1e6',
    tokens: 7,
    heads: 3,
    D: 24,
    config: { theta: 1e6, rotDim: 12 },
    maxPos: 4096,
  },
  {
    name: 'llama3 scaling (Llama 3.1), D 64',
    tokens: 33,
    heads: 4,
    D: 64,
    config: { theta: 500000, rotDim: 64, scaling: LLAMA3 },
    maxPos: 131071,
  },
  {
    name: 'linear scaling ×4, odd D 5 (Drot 4)',
    tokens: 100,
    heads: 2,
    D: 5,
    config: { theta: 10000, rotDim: 4, scaling: { type: 'linear', factor: 4 } },
    maxPos: 1 << 20,
  },
  {
    name: 'D 128, partial rotary 0.5 (phi-style), positions to 2²⁰',
    tokens: 33,
    heads: 5,
    D: 128,
    config: { theta: 10000, rotDim: 64 },
    maxPos: (1 << 20) - 1,
  },
  ...raggedShapes('rope', 1, (r): Case => {
    const D = raggedSize(r, 2, 96);
    const rotDim = 2 * raggedSize(r, 1, Math.floor(D / 2));
    const theta = r.next() < 0.5 ? 10000 : 1e6;
    return {
      name: `drawn: Drot ${rotDim} of D ${D}, θ ${theta}`,
      tokens: raggedSize(r, 1, 100),
      heads: raggedSize(r, 1, 5),
      D,
      config: { theta, rotDim },
      maxPos: raggedSize(r, 1, 1 << 20),
    };
  }),
];

function positions(rng: Rng, n: number, maxPos: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = rng.int(0, maxPos + 1);
  p[0] = maxPos;
  if (n > 1) p[n - 1] = 0;
  return p;
}

describe('rope (shaders/rope.wgsl)', () => {
  for (const c of CASES) {
    it(`forward and backward, out of place and in place: ${c.name} (T ${c.tokens}, NH ${c.heads}, D ${c.D})`, async () => {
      const rt = await testRuntime();
      const rng = seededRng(`rope ${c.name}`);
      const n = c.tokens * c.heads * c.D;
      const x = rng.f32(n);
      const dy = rng.f32(n);
      const pos = positions(rng, c.tokens, c.maxPos);
      const invFreq = ropeInvFreq(c.config);
      const shape = {
        tokens: c.tokens,
        heads: c.heads,
        D: c.D,
        rotDim: c.config.rotDim,
        positions: rt.memory.upload('test', 'positions', pos).buffer,
        turns: rt.memory.upload('test', 'turns', ropeTurnTable(invFreq)).buffer,
      };
      const xb = rt.uploadF32('test', 'x', x);
      const dyb = rt.uploadF32('test', 'dy', dy);
      const xIn = rt.uploadF32('test', 'x-inplace', x);
      const dyIn = rt.uploadF32('test', 'dy-inplace', dy);
      const y = poisonedF32(rt, 'y', n);
      const dx = poisonedF32(rt, 'dx', n);
      const rec = rt.recorder('rope');
      await ropeForward(rt, rec, { ...shape, x: xb, out: y });
      await ropeBackward(rt, rec, { ...shape, dy: dyb, dx });
      await ropeForward(rt, rec, { ...shape, x: xIn });
      await ropeBackward(rt, rec, { ...shape, dy: dyIn });
      await rec.submit();
      const yRef = ropeForwardRef(x, pos, invFreq, c.tokens, c.heads, c.D, c.config.rotDim);
      const dxRef = ropeBackwardRef(dy, pos, invFreq, c.tokens, c.heads, c.D, c.config.rotDim);
      expectClose('y', await rt.readF32(y), yRef, TOLERANCES.rope_f32);
      expectClose('dx', await rt.readF32(dx), dxRef, TOLERANCES.rope_f32);
      const yIn = await rt.readF32(xIn);
      const dxIn = await rt.readF32(dyIn);
      expectClose('y in place', yIn, yRef, TOLERANCES.rope_f32);
      expectClose('dx in place', dxIn, dxRef, TOLERANCES.rope_f32);
      // Pass-through dims are bit-exact copies (out of place) or untouched (in place).
      const yOut = await rt.readF32(y);
      for (let t = 0; t < c.tokens * c.heads; t++) {
        for (let d = c.config.rotDim; d < c.D; d++) {
          const i = t * c.D + d;
          expect([yOut[i], yIn[i], dxIn[i]]).toEqual([x[i], x[i], dy[i]]);
        }
      }
      rt.memory.destroyOwner('test');
      rt.memory.destroyOwner('test-output');
    });
  }

  it('q and k of a GQA layer with packed positions (restarting per example), forward then backward is the identity', async () => {
    const rt = await testRuntime();
    const rng = seededRng('rope qk');
    const [tokens, H, Hkv, D] = [37, 6, 2, 32];
    const config: RopeConfig = { theta: 500000, rotDim: D, scaling: LLAMA3 };
    const invFreq = ropeInvFreq(config);
    // Three examples packed into one row: positions 0..11, 0..19, 0..4.
    const pos = Uint32Array.from([...Array(12).keys(), ...Array(20).keys(), ...Array(5).keys()]);
    const q = rng.f32(tokens * H * D);
    const k = rng.f32(tokens * Hkv * D);
    const qb = rt.uploadF32('test', 'q', q);
    const kb = rt.uploadF32('test', 'k', k);
    const shape = {
      tokens,
      H,
      Hkv,
      D,
      rotDim: D,
      positions: rt.memory.upload('test', 'positions', pos).buffer,
      turns: rt.memory.upload('test', 'turns', ropeTurnTable(invFreq)).buffer,
    };
    let rec = rt.recorder('rope qk');
    await ropeForwardQK(rt, rec, { ...shape, q: qb, k: kb });
    await rec.submit();
    expectClose('q', await rt.readF32(qb), ropeForwardRef(q, pos, invFreq, tokens, H, D, D), TOLERANCES.rope_f32);
    expectClose('k', await rt.readF32(kb), ropeForwardRef(k, pos, invFreq, tokens, Hkv, D, D), TOLERANCES.rope_f32);
    rec = rt.recorder('rope qk backward');
    await ropeBackwardQK(rt, rec, { ...shape, dq: qb, dk: kb });
    await rec.submit();
    expectClose('q round trip', await rt.readF32(qb), q, TOLERANCES.rope_f32);
    expectClose('k round trip', await rt.readF32(kb), k, TOLERANCES.rope_f32);
    rt.memory.destroyOwner('test');
  });

  it('angles stay exact at large positions where f32 pos·inv_freq would be off by ~1e-2 rad', async () => {
    const rt = await testRuntime();
    const rng = seededRng('rope large positions');
    const [tokens, D] = [64, 8];
    const config: RopeConfig = { theta: 10000, rotDim: D };
    const invFreq = ropeInvFreq(config);
    // Positions near 2²⁰ and 2²⁴ (beyond f32's exact integers for the product), and a unit vector (1, 0) per pair.
    const pos = new Uint32Array(tokens);
    for (let i = 0; i < tokens; i++) pos[i] = (i % 2 === 0 ? 1 << 20 : 1 << 24) + rng.int(0, 1 << 16);
    const x = new Float32Array(tokens * D);
    for (let t = 0; t < tokens; t++) for (let i = 0; i < D / 2; i++) x[t * D + i] = 1;
    const y = poisonedF32(rt, 'y', tokens * D);
    const rec = rt.recorder('rope large');
    await ropeForward(rt, rec, {
      tokens,
      heads: 1,
      D,
      rotDim: D,
      x: rt.uploadF32('test', 'x', x),
      out: y,
      positions: rt.memory.upload('test', 'positions', pos).buffer,
      turns: rt.memory.upload('test', 'turns', ropeTurnTable(invFreq)).buffer,
    });
    await rec.submit();
    // y[i] = cos θ, y[i + D/2] = sin θ: compared directly, the angle error is what is measured.
    const want = ropeForwardRef(x, pos, invFreq, tokens, 1, D, D);
    expectClose('cos/sin at positions ≥ 2²⁰', await rt.readF32(y), want, TOLERANCES.rope_f32);
    // The same tolerance rejects the usual f32 angle θ = f32(pos)·f32(inv_freq): this test can tell them apart.
    const naive = new Float64Array(tokens * D);
    for (let t = 0; t < tokens; t++) {
      for (let i = 0; i < D / 2; i++) {
        const theta = Math.fround(Math.fround(pos[t]!) * Math.fround(invFreq[i]!));
        naive[t * D + i] = Math.cos(theta);
        naive[t * D + i + D / 2] = Math.sin(theta);
      }
    }
    expect(compareClose(naive, want, TOLERANCES.rope_f32).ok).toBe(false);
    rt.memory.destroyOwner('test');
    rt.memory.destroyOwner('test-output');
  });
});
