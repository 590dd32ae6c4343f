import { describe, expect, it } from 'vitest';
import {
  type DecodeTiles,
  attentionDecode,
  attentionDecodePartialFloats,
  chooseDecodeTiles,
  planDecodeSplits,
} from '../../src/kernels/attention_decode.ts';
import { createKvCache, kvAppend } from '../../src/kernels/kv-cache.ts';
import type { GpuRuntime } from '../../src/gpu/runtime.ts';
import { expectClose } from '../harness/allclose.ts';
import { testRuntime } from '../harness/device.ts';
import { poisonedF32 } from '../harness/poison.ts';
import { type Rng, seededRng } from '../harness/rng.ts';
import { raggedShapes, raggedSize } from '../harness/shapes.ts';
import { TOLERANCES } from '../harness/tolerances.ts';
import { attentionForwardRef } from '../reference/attention.ts';

/**
 * Decode attention against the float64 training reference run on the whole concatenated sequence (positions 0..L-1)
 * and restricted to the last n rows. The caches are filled through `kvAppend` (a "prefill" part, then the new
 * tokens, from a source buffer at a row offset); cache rows past L, and rows before the first new token's window,
 * are NaN (never visible, so a read of them fails); outputs and the split scratch are NaN-poisoned.
 */
interface DecodeCase {
  name: string;
  L: number;
  n: number;
  H: number;
  Hkv: number;
  D: number;
  window?: number;
  softcap?: number;
  scale?: number;
  chunk?: number;
  tiles?: DecodeTiles;
  /** Lower bound on the chunks the default plan must use. */
  minSplits?: number;
}

const CASES: DecodeCase[] = [
  { name: 'L 1 (first token), MHA', L: 1, n: 1, H: 1, Hkv: 1, D: 16 },
  { name: 'L 7, GQA 2', L: 7, n: 1, H: 4, Hkv: 2, D: 16 },
  {
    name: 'L 33, GQA 4, window 5, chunks of 5 (most empty for the row)',
    L: 33,
    n: 1,
    H: 4,
    Hkv: 1,
    D: 16,
    window: 5,
    chunk: 5,
  },
  {
    name: 'L 300, MHA, soft-cap 2, scale 0.3',
    L: 300,
    n: 1,
    H: 2,
    Hkv: 2,
    D: 16,
    softcap: 2,
    scale: 0.3,
    minSplits: 9,
  },
  {
    name: 'L 300, 4-token prefill continuation, GQA 2, window 64, soft-cap 3',
    L: 300,
    n: 4,
    H: 4,
    Hkv: 2,
    D: 16,
    window: 64,
    softcap: 3,
  },
  { name: 'L 19, whole-prompt prefill (p0 0), GQA 4', L: 19, n: 19, H: 4, Hkv: 1, D: 16, chunk: 7 },
  { name: 'L 4096, GQA 2, full causal', L: 4096, n: 1, H: 2, Hkv: 1, D: 16, minSplits: 64 },
  { name: 'L 4096, GQA 4, window 256, soft-cap 5', L: 4096, n: 1, H: 4, Hkv: 1, D: 16, window: 256, softcap: 5 },
  {
    name: 'D 256 (gemma2-like), GQA 2, soft-cap 50, scale 224^-0.5',
    L: 37,
    n: 1,
    H: 2,
    Hkv: 1,
    D: 256,
    softcap: 50,
    scale: 1 / Math.sqrt(224),
  },
  {
    name: 'odd D 5, odd tiles BR 3 BC 5 WG 32, 3 new tokens, GQA 2, window 9, chunks of 7',
    L: 33,
    n: 3,
    H: 4,
    Hkv: 2,
    D: 5,
    window: 9,
    chunk: 7,
    tiles: { BR: 3, BC: 5, WG: 32 },
  },
  // drawn per seed, at D 16: cache length, new tokens, GQA ratio, window, soft-cap and chunk length
  ...raggedShapes('attention decode', 1, (r): DecodeCase => {
    const L = raggedSize(r, 1, 600);
    const n = raggedSize(r, 1, Math.min(L, 8));
    const Hkv = raggedSize(r, 1, 2);
    const H = Hkv * raggedSize(r, 1, 4);
    const window = r.next() < 0.5 ? raggedSize(r, 1, L) : 0;
    const softcap = r.next() < 0.5 ? 1 + 4 * r.next() : 0;
    const chunk = r.next() < 0.5 ? raggedSize(r, 1, 80) : 0;
    return {
      name: `drawn${window ? `, window ${window}` : ''}${softcap ? `, soft-cap ${softcap.toFixed(2)}` : ''}${chunk ? `, chunks of ${chunk}` : ''}`,
      L,
      n,
      H,
      Hkv,
      D: 16,
      ...(window ? { window } : {}),
      ...(softcap ? { softcap } : {}),
      ...(chunk ? { chunk } : {}),
    };
  }),
];

/** Inputs scaled so logits spread over a few units, as in the training attention test. */
function sequence(rng: Rng, L: number, H: number, Hkv: number, D: number, scale: number) {
  const amp = Math.sqrt(6 / (scale * Math.sqrt(D)));
  return { q: rng.f32(L * H * D, -amp, amp), k: rng.f32(L * Hkv * D, -amp, amp), v: rng.f32(L * Hkv * D) };
}

async function runCase(rt: GpuRuntime, c: DecodeCase, rng: Rng): Promise<void> {
  const scale = c.scale ?? 1 / Math.sqrt(c.D);
  const p0 = c.L - c.n;
  const row = c.Hkv * c.D;
  const x = sequence(rng, c.L, c.H, c.Hkv, c.D, scale);
  const maxTokens = c.L + 3;
  const cache = createKvCache(rt, 'test', { layers: 2, maxTokens, Hkv: c.Hkv, D: c.D });
  // Poison the whole cache of layer 1, then append: the prefill rows [0, p0) (the never-visible ones as NaN), and the
  // new rows from a source holding 2 junk rows before them.
  const rec = rt.recorder('decode');
  const nan = poisonedF32(rt, 'nan', maxTokens * row);
  rec.copy(nan, cache.k[1]!, maxTokens * row * 4).copy(nan, cache.v[1]!, maxTokens * row * 4);
  const hidden = c.window ? Math.max(0, p0 + 1 - c.window) : 0;
  const prefix = (a: Float32Array) => {
    const out = a.slice(0, p0 * row);
    out.fill(Number.NaN, 0, hidden * row);
    return out;
  };
  const fresh = (a: Float32Array) => {
    const out = new Float32Array((c.n + 2) * row).fill(7);
    out.set(a.subarray(p0 * row, c.L * row), 2 * row);
    return out;
  };
  if (p0 > 0)
    kvAppend(rec, cache, {
      layer: 1,
      k: rt.uploadF32('test', 'k0', prefix(x.k)),
      v: rt.uploadF32('test', 'v0', prefix(x.v)),
      p0: 0,
      n: p0,
    });
  kvAppend(rec, cache, {
    layer: 1,
    k: rt.uploadF32('test', 'k1', fresh(x.k)),
    v: rt.uploadF32('test', 'v1', fresh(x.v)),
    p0,
    n: c.n,
    srcToken: 2,
  });
  const q = rt.uploadF32('test', 'q', x.q.slice(p0 * c.H * c.D));
  const out = poisonedF32(rt, 'out', c.n * c.H * c.D);
  const partials = poisonedF32(rt, 'partials', attentionDecodePartialFloats(c));
  const shape = {
    n: c.n,
    p0,
    H: c.H,
    Hkv: c.Hkv,
    D: c.D,
    maxTokens,
    scale: c.scale,
    window: c.window,
    softcap: c.softcap,
    chunk: c.chunk,
  };
  const plan = await attentionDecode(
    rt,
    rec,
    { ...shape, q, kCache: cache.k[1]!, vCache: cache.v[1]!, partials, out },
    c.tiles,
  );
  await rec.submit();
  if (c.minSplits !== undefined) expect(plan.splits).toBeGreaterThanOrEqual(c.minSplits);
  const ref = attentionForwardRef(
    { B: 1, T: c.L, H: c.H, Hkv: c.Hkv, D: c.D, scale, window: c.window ?? 0, softcap: c.softcap ?? 0 },
    x.q,
    x.k,
    x.v,
  );
  const label = `${c.name} (${plan.splits} chunks of ${plan.chunk}, BR ${plan.tiles.BR} BC ${plan.tiles.BC})`;
  expectClose(label, await rt.readF32(out), ref.out.subarray(p0 * c.H * c.D), TOLERANCES.attention_decode_out);
  rt.memory.destroyOwner('test');
  rt.memory.destroyOwner('test-output');
}

describe('attention decode (shaders/attention_decode.wgsl)', () => {
  for (const c of CASES) {
    it(`${c.name} (L ${c.L}, n ${c.n}, H ${c.H}, Hkv ${c.Hkv}, D ${c.D})`, async () => {
      const rt = await testRuntime();
      await runCase(rt, c, seededRng(`attention decode ${c.name}`));
    });
  }

  it('generation loop: a 5-token prefill then 6 decode steps, one appended row per step, each step checked', async () => {
    const rt = await testRuntime();
    const rng = seededRng('attention decode loop');
    const [L, H, Hkv, D, window] = [11, 4, 2, 16, 6];
    const x = sequence(rng, L, H, Hkv, D, 1 / Math.sqrt(D));
    const ref = attentionForwardRef(
      { B: 1, T: L, H, Hkv, D, scale: 1 / Math.sqrt(D), window, softcap: 0 },
      x.q,
      x.k,
      x.v,
    ).out;
    const cache = createKvCache(rt, 'test', { layers: 1, maxTokens: L, Hkv, D });
    const k = rt.uploadF32('test', 'k', x.k);
    const v = rt.uploadF32('test', 'v', x.v);
    const steps: [number, number][] = [
      [0, 5],
      [5, 1],
      [6, 1],
      [7, 1],
      [8, 1],
      [9, 1],
      [10, 1],
    ];
    for (const [p0, n] of steps) {
      const rec = rt.recorder('decode-step');
      kvAppend(rec, cache, { layer: 0, k, v, p0, n, srcToken: p0 });
      const q = rt.uploadF32('test-output', 'q', x.q.slice(p0 * H * D, (p0 + n) * H * D));
      const out = poisonedF32(rt, 'out', n * H * D);
      const partials = poisonedF32(rt, 'partials', attentionDecodePartialFloats({ n, H, D }));
      await attentionDecode(rt, rec, {
        n,
        p0,
        H,
        Hkv,
        D,
        maxTokens: L,
        window,
        q,
        kCache: cache.k[0]!,
        vCache: cache.v[0]!,
        partials,
        out,
      });
      await rec.submit();
      expectClose(
        `step at ${p0}`,
        await rt.readF32(out),
        ref.subarray(p0 * H * D, (p0 + n) * H * D),
        TOLERANCES.attention_decode_out,
      );
      rt.memory.destroyOwner('test-output');
    }
    rt.memory.destroyOwner('test');
  });

  it('kvAppend writes exactly the rows asked for (bitwise), leaves the others, and rejects overflow', async () => {
    const rt = await testRuntime();
    const rng = seededRng('kv append');
    const [maxTokens, Hkv, D] = [9, 3, 5];
    const row = Hkv * D;
    const cache = createKvCache(rt, 'test', { layers: 3, maxTokens, Hkv, D });
    const src = rng.f32(6 * row);
    const srcV = rng.f32(6 * row);
    const k = rt.uploadF32('test', 'k', src);
    const v = rt.uploadF32('test', 'v', srcV);
    const rec = rt.recorder('append');
    const nan = poisonedF32(rt, 'nan', maxTokens * row);
    rec.copy(nan, cache.k[2]!, maxTokens * row * 4).copy(nan, cache.v[2]!, maxTokens * row * 4);
    kvAppend(rec, cache, { layer: 2, k, v, p0: 0, n: 3 }); // rows 0..2 ← src 0..2
    kvAppend(rec, cache, { layer: 2, k, v, p0: 3, n: 1, srcToken: 5 }); // row 3 ← src 5
    kvAppend(rec, cache, { layer: 2, k, v, p0: 6, n: 2, srcToken: 1 }); // rows 6, 7 ← src 1, 2
    await rec.submit();
    const want = (s: Float32Array) => {
      const w = new Float32Array(maxTokens * row).fill(Number.NaN);
      w.set(s.subarray(0, 3 * row), 0);
      w.set(s.subarray(5 * row, 6 * row), 3 * row);
      w.set(s.subarray(1 * row, 3 * row), 6 * row);
      return w;
    };
    expect(Array.from(await rt.readF32(cache.k[2]!))).toEqual(Array.from(want(src)));
    expect(Array.from(await rt.readF32(cache.v[2]!))).toEqual(Array.from(want(srcV)));
    expect(() => kvAppend(rec, cache, { layer: 2, k, v, p0: 8, n: 2 })).toThrow(RangeError);
    expect(() => kvAppend(rec, cache, { layer: 3, k, v, p0: 0, n: 1 })).toThrow(RangeError);
    expect(() => kvAppend(rec, cache, { layer: 0, k, v, p0: 0, n: 5, srcToken: 2 })).toThrow(RangeError);
    rt.memory.destroyOwner('test');
    rt.memory.destroyOwner('test-output');
  });

  it('chooses tiles that fit the device for every head dim up to 256 and plans many chunks for long caches', async () => {
    const rt = await testRuntime();
    for (const D of [1, 5, 16, 64, 80, 128, 256]) {
      for (const rows of [1, 2, 3, 8, 32]) {
        const t = chooseDecodeTiles(rows, D, rt.device.limits);
        expect(t.BR * Math.ceil(D / 4)).toBeLessThanOrEqual(8 * t.WG);
      }
    }
    // One decoded token, 8 kv heads, 4096 cached positions: 32 chunks of 128 keys → 256 workgroups.
    expect(planDecodeSplits(4096, 8, 32, 64)).toEqual({ chunk: 128, splits: 32 });
    expect(planDecodeSplits(1, 8, 32, 64)).toEqual({ chunk: 32, splits: 1 });
    expect(planDecodeSplits(100, 1, 32, 2)).toEqual({ chunk: 64, splits: 2 });
  });
});
