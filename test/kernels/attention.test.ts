import { describe, expect, it } from 'vitest';
import { chooseAttentionTiles } from '../../src/kernels/attention.ts';
import { testRuntime } from '../harness/device.ts';
import { seededRng } from '../harness/rng.ts';
import { raggedShapes, raggedSize } from '../harness/shapes.ts';
import { type AttentionCase, runAttentionCase } from './attention-case.ts';

/**
 * Ragged shapes (T not a multiple of any tile, T = 1), GQA ratios 1, 2, 3 and 4 (H = Hkv included), window and
 * soft-cap on and off, packed segments, B > 1, non-power-of-two D (24) and odd D (5, with odd tiles).
 * Few head dims and tiles on purpose: each distinct (D, tiles) compiles three pipelines, and SwiftShader spends
 * ~0.8 ms of CPU per f32 of workgroup memory compiling one (zero-initialization), 2-6 s each here; everything
 * else is Params. D 256 and T 4096 are in attention-large.test.ts.
 */
const CASES: AttentionCase[] = [
  { name: 'single token', B: 1, T: 1, H: 1, Hkv: 1, D: 24 },
  { name: 'MHA (G 1), B 2, window = T (masks nothing)', B: 2, T: 7, H: 2, Hkv: 2, D: 24, window: 7 },
  { name: 'GQA 2, B 2', B: 2, T: 33, H: 4, Hkv: 2, D: 24 },
  {
    name: 'GQA 4, packed segments, B 3',
    B: 3,
    T: 45,
    H: 4,
    Hkv: 1,
    D: 24,
    packed: [[10, 20, 15], [45], [1, 1, 30, 3]],
  },
  {
    name: 'GQA 3, segments + window + soft-cap, scale 0.3',
    B: 2,
    T: 40,
    H: 3,
    Hkv: 1,
    D: 24,
    window: 6,
    softcap: 2,
    scale: 0.3,
    packed: [
      [13, 9],
      [1, 38],
    ],
  },
  { name: 'GQA 4, window 17, soft-cap 3 (llama head dim)', B: 1, T: 100, H: 8, Hkv: 2, D: 128, window: 17, softcap: 3 },
  { name: 'H = Hkv, window 2 (previous token and self), B 2', B: 2, T: 12, H: 3, Hkv: 3, D: 128, window: 2 },
  {
    name: 'odd D 5, odd tiles BR 3 BC 5 TPR 2, GQA 2, window + segments',
    B: 2,
    T: 29,
    H: 4,
    Hkv: 2,
    D: 5,
    window: 9,
    packed: [[11, 18], [29]],
    tiles: { BR: 3, BC: 5, TPR: 2 },
  },
  {
    name: 'odd D 5, odd tiles, MHA, soft-cap, no mask extras',
    B: 1,
    T: 19,
    H: 2,
    Hkv: 2,
    D: 5,
    softcap: 1,
    tiles: { BR: 3, BC: 5, TPR: 2 },
  },
  // drawn per seed, at D 24 (pipelines already compiled above): B, T, GQA ratio, window, soft-cap and segments
  ...raggedShapes('attention', 1, (r): AttentionCase => {
    const B = raggedSize(r, 1, 3);
    const T = raggedSize(r, 1, 60);
    const Hkv = raggedSize(r, 1, 2);
    const H = Hkv * raggedSize(r, 1, 4);
    const window = r.next() < 0.5 ? raggedSize(r, 1, T) : 0;
    const softcap = r.next() < 0.5 ? 1 + 3 * r.next() : 0;
    // segment lengths that fill each row
    const segments = (): number[] => {
      const out: number[] = [];
      for (let left = T; left > 0; left -= out[out.length - 1]!) out.push(raggedSize(r, 1, left));
      return out;
    };
    const packed = r.next() < 0.5 ? Array.from({ length: B }, segments) : undefined;
    return {
      name: `drawn${window ? `, window ${window}` : ''}${softcap ? `, soft-cap ${softcap.toFixed(2)}` : ''}${packed ? ', segments' : ''}`,
      B,
      T,
      H,
      Hkv,
      D: 24,
      ...(window ? { window } : {}),
      ...(softcap ? { softcap } : {}),
      ...(packed ? { packed } : {}),
    };
  }),
];

describe('attention (shaders/attention.wgsl)', () => {
  for (const c of CASES) {
    it(`forward + backward: ${c.name} (B ${c.B}, T ${c.T}, H ${c.H}, Hkv ${c.Hkv}, D ${c.D})`, async () => {
      const rt = await testRuntime();
      await runAttentionCase(rt, c, seededRng(`attention ${c.name}`));
    });
  }

  it('chooses tiles that fit the device for every head dim up to 256', async () => {
    const rt = await testRuntime();
    for (const D of [1, 5, 16, 24, 64, 80, 96, 128, 256]) {
      for (const kernel of ['forward', 'dq', 'dkdv'] as const) {
        const t = chooseAttentionTiles(kernel, D, rt.device.limits);
        expect(Math.ceil(Math.ceil(D / 4) / t.TPR)).toBeLessThanOrEqual(8);
      }
    }
    expect(() =>
      chooseAttentionTiles('dkdv', 256, {
        maxComputeWorkgroupStorageSize: 4096,
        maxComputeInvocationsPerWorkgroup: 256,
      }),
    ).toThrow(RangeError);
  });
});
