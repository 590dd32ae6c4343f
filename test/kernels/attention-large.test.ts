import { describe, expect, it } from 'vitest';
import { testRuntime } from '../harness/device.ts';
import { seededRng } from '../harness/rng.ts';
import { runAttentionCase } from './attention-case.ts';

/** The largest shapes: head dim 256 (gemma2) and T = 4096, kept in their own file for its running time. */
describe('attention, large shapes (shaders/attention.wgsl)', () => {
  it('gemma2-like: D 256, scale 224^-0.5, soft-cap 50, GQA 2, forward + backward', async () => {
    const rt = await testRuntime();
    const c = { name: 'D 256', B: 1, T: 21, H: 2, Hkv: 1, D: 256, softcap: 50, scale: 1 / Math.sqrt(224) };
    await runAttentionCase(rt, c, seededRng('attention D=256'));
  });

  it('T = 4096 (H 1, D 16), two packed examples + window 256: forward and backward in O(T·D) memory', async () => {
    const rt = await testRuntime();
    rt.memory.resetPeak();
    const [T, D] = [4096, 16];
    await runAttentionCase(
      rt,
      { name: 'T 4096 windowed', B: 1, T, H: 1, Hkv: 1, D, packed: [[2500, 1596]], window: 256 },
      seededRng('attention T=4096 window'),
    );
    // q, k, v, dout, out, dq, dk, dv of T·D floats, lse and stats of T and 2T, the segment ids: ~2 MiB.
    // One [T, T] f32 score matrix alone would be 64 MiB.
    expect(rt.memory.stats().peakBytes).toBeLessThan(12 * T * D * 4);
  });

  it('T = 4096 (H 1, D 16), full causal: forward (256 key tiles of online softmax per query tile)', async () => {
    const rt = await testRuntime();
    await runAttentionCase(
      rt,
      { name: 'T 4096 causal', B: 1, T: 4096, H: 1, Hkv: 1, D: 16, backward: false },
      seededRng('attention T=4096 causal'),
    );
  });
});
