/**
 * The model loader against the tiny model zoo: safetensors (single, sharded; F32, F16, BF16) with quant 'none' load
 * exactly the stored values; the GGUF of each model loads the same weights (q/k permutation and gemma's +1 undone);
 * GGUF Q8_0 / Q4_0 blocks arrive on the GPU bit for bit.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { permuteQkRowBytes } from '../../src/formats/gguf-permute.ts';
import { joinGgufBlocks } from '../../src/formats/quant-blocks.ts';
import { type QuantWeight, isQuantWeight, readQuantWeight } from '../../src/kernels/weights.ts';
import { openCheckpoint } from '../../src/model/checkpoint.ts';
import { NodeFolderModelSource } from '../../src/model/source-node.ts';
import { TINY_MODEL_ZOO } from '../fixtures/make-models.ts';
import { testRuntime } from '../harness/device.ts';
import { type Zoo, expectedTensors, firstDifference, loadAndRead, makeZoo, maxAbsDiff } from './loader-case.ts';

let zoo: Zoo;
beforeAll(async () => {
  zoo = await makeZoo();
}, 120_000);
afterAll(() => zoo.cleanup());

const DTYPE_FORMAT = { F32: 'f32', F16: 'f16', BF16: 'bf16' } as const;

describe('loadModel: safetensors with quant "none" holds exactly the stored values', () => {
  for (const { repo } of TINY_MODEL_ZOO) {
    it(repo, async () => {
      const rt = await testRuntime();
      const m = zoo.models.get(repo)!;
      const { loaded, host } = await loadAndRead(rt, m.dir, { quant: 'none', owner: 'test-load' });
      const want = expectedTensors(m);
      expect([...host.keys()].sort()).toEqual(
        [...want.keys()].filter((n) => n !== 'lm_head.weight' || !m.config.tie_word_embeddings).sort(),
      );
      for (const [name, t] of want) {
        const got = host.get(name)!;
        expect(got.shape, name).toEqual(t.shape);
        expect(firstDifference(got.values, t.values), name).toBeNull();
        if (t.shape.length === 2) expect(got.format, name).toBe(DTYPE_FORMAT[m.dtype]);
      }
      const w = loaded.weights;
      expect(w.head === w.embed).toBe(Boolean(m.config.tie_word_embeddings));
      expect(loaded.report.files).toEqual(m.safetensorsFiles);
      expect(loaded.report.fallbacks).toEqual([]);
      expect(loaded.report.gpuBytes).toBe(rt.memory.stats().byOwner['test-load']!.liveBytes);
      rt.memory.destroyOwner('test-load');
      expect(rt.memory.stats().byOwner['loader-staging']?.liveBytes ?? 0).toBe(0);
    });
  }
});

describe('loadModel: each GGUF gives the same weights as the safetensors', () => {
  for (const { repo, options } of TINY_MODEL_ZOO) {
    const type = options.gguf!.includes('F32') ? 'F32' : 'F16';
    it(`${repo} (${type} GGUF)`, async () => {
      const rt = await testRuntime();
      const m = zoo.models.get(repo)!;
      const { host: fromSt } = await loadAndRead(rt, m.dir, { quant: 'none', owner: 'test-load' });
      const { loaded, host: fromGguf } = await loadAndRead(rt, join(m.dir, m.ggufFiles[type]!), {
        quant: 'none',
        owner: 'test-load',
      });
      expect(loaded.report.format).toBe('gguf');
      expect([...fromGguf.keys()].sort()).toEqual([...fromSt.keys()].sort());
      for (const [name, st] of fromSt) {
        const g = fromGguf.get(name)!;
        if (m.arch === 'gemma2' && name.endsWith('norm.weight')) {
          // GGUF stores fround(w + 1); subtracting 1 returns w up to the rounding of that addition (half an ulp of ~1).
          expect(maxAbsDiff(g.values, st.values), name).toBeLessThanOrEqual(2 ** -24);
        } else {
          expect(firstDifference(g.values, st.values), name).toBeNull();
        }
      }
      if (m.variant === 'rope-llama3') expect(loaded.report.unused).toContain('rope_freqs.weight');
      rt.memory.destroyOwner('test-load');
    });
  }
});

describe('loadModel: GGUF Q8_0 / Q4_0 blocks reach the GPU bit for bit', () => {
  const cases = TINY_MODEL_ZOO.flatMap(({ repo, options }) =>
    (options.gguf ?? []).filter((t) => t === 'Q8_0' || t === 'Q4_0').map((type) => ({ repo, type })),
  );
  for (const { repo, type } of cases) {
    it(`${repo} ${type}`, async () => {
      const rt = await testRuntime();
      const m = zoo.models.get(repo)!;
      const file = join(m.dir, m.ggufFiles[type]!);
      const format = type === 'Q8_0' ? 'q8_0' : 'q4_0';
      // quant 'none' keeps the file's blocks; asking for the file's own format does too (embeddings included).
      for (const quant of ['none', format] as const) {
        const { loaded } = await loadAndRead(rt, file, {
          quant,
          embeddings: quant === 'none' ? undefined : format,
          owner: 'test-load',
        });
        const ckpt = await openCheckpoint(await NodeFolderModelSource.open(file));
        let blockTensors = 0;
        const w = loaded.weights;
        const weights: [string, QuantWeight | undefined][] = [
          ['model.embed_tokens.weight', isQuantWeight(w.embed) ? w.embed : undefined],
        ];
        for (const [l, layer] of w.layers.entries()) {
          for (const [t, pw] of Object.entries(layer.proj)) {
            const group = t === 'gate_proj' || t === 'up_proj' || t === 'down_proj' ? 'mlp' : 'self_attn';
            weights.push([`model.layers.${l}.${group}.${t}.weight`, isQuantWeight(pw) ? pw : undefined]);
          }
        }
        for (const [name, qw] of weights) {
          const t = ckpt.tensors.get(name)!;
          if (t.stored !== format) continue; // rows that do not hold whole blocks stay F32 in the file
          expect(qw, name).toBeDefined();
          let want = await t.read();
          if (t.unpermuteHeads !== null) want = permuteQkRowBytes(want, t.shape[0]!, t.unpermuteHeads, true);
          const got = joinGgufBlocks(format, await readQuantWeight(rt, qw!), qw!.rows * qw!.cols);
          expect(Buffer.from(got).equals(Buffer.from(want)), `${name} blocks`).toBe(true);
          blockTensors++;
        }
        expect(blockTensors).toBeGreaterThan(0);
        await ckpt.close();
        rt.memory.destroyOwner('test-load');
      }
    });
  }
});
