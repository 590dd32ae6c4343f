/**
 * The tiny fixture models: every architecture generates, its config parses, and its tensors load back identically
 * from safetensors (single, sharded, F32/F16/BF16) and from GGUF (after undoing the q/k permutation and gemma's +1).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeFileByteSource } from '../../../src/formats/byte-source-node.ts';
import { type GgufFile, ggufString, readGguf, readGgufTensor } from '../../../src/formats/gguf.ts';
import { readGgufHfConfig } from '../../../src/formats/gguf-config.ts';
import { dequantizeGguf } from '../../../src/formats/gguf-dequant.ts';
import { ggufTensorMapping } from '../../../src/formats/gguf-names.ts';
import { permuteQkRows, unpermuteQkRows } from '../../../src/formats/gguf-permute.ts';
import { encodeGgufTensor } from '../../../src/formats/gguf-quant.ts';
import { llama3RopeFactors } from '../../../src/formats/gguf-rope.ts';
import { parseSafetensorsIndex, SafetensorsModel } from '../../../src/formats/safetensors-model.ts';
import { parseModelConfig } from '../../../src/model/config.ts';
import {
  makeTinyModel,
  makeTinyModelZoo,
  runMakeModelsCli,
  TINY_MODEL_ZOO,
  type TinyModel,
} from '../../fixtures/make-models.ts';
import { ggufTypeFor } from '../../fixtures/tiny-model-gguf.ts';

/** Index and values of the first element where a and b differ bit for bit (null when identical); fast on large arrays. */
function firstDifference(a: Float32Array, b: Float32Array): string | null {
  if (a.length !== b.length) return `lengths ${a.length} and ${b.length}`;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) if (ua[i] !== ub[i]) return `[${i}]: ${a[i]} vs ${b[i]}`;
  return null;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

let root: string;
let zoo: Map<string, TinyModel>;
const sources: NodeFileByteSource[] = [];

async function open(path: string): Promise<NodeFileByteSource> {
  const s = await NodeFileByteSource.open(path);
  sources.push(s);
  return s;
}

async function openSafetensors(m: TinyModel): Promise<SafetensorsModel> {
  if (m.safetensorsFiles.length === 1)
    return SafetensorsModel.openSingle(await open(join(m.dir, m.safetensorsFiles[0]!)));
  const index = parseSafetensorsIndex(await readFile(join(m.dir, 'model.safetensors.index.json'), 'utf8'));
  return SafetensorsModel.openSharded(index, (file) => open(join(m.dir, file)));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tiny-models-'));
  zoo = await makeTinyModelZoo(root);
}, 120_000);

afterAll(async () => {
  await Promise.all(sources.map((s) => s.close()));
  await rm(root, { recursive: true, force: true });
});

describe.each(TINY_MODEL_ZOO.map((e) => [e.repo]))('%s', (repo) => {
  const model = () => zoo.get(repo)!;

  it('has a config.json the model parser accepts, matching the generated shapes', async () => {
    const m = model();
    const config = JSON.parse(await readFile(join(m.dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const d = parseModelConfig(config);
    expect([d.hidden, d.intermediate, d.layers, d.heads, d.kvHeads, d.headDim]).toEqual([
      m.dims.hidden,
      m.dims.intermediate,
      m.dims.layers,
      m.dims.heads,
      m.dims.kvHeads,
      m.dims.headDim,
    ]);
    expect(d.vocab).toBe(m.ids.vocab);
    expect(d.tieEmbeddings).toBe(!m.tensors.some((t) => t.name === 'lm_head.weight'));
    const generation = JSON.parse(await readFile(join(m.dir, 'generation_config.json'), 'utf8')) as {
      eos_token_id: number | number[];
    };
    expect([generation.eos_token_id].flat()).toEqual(m.ids.generationEos);
    const tokenizer = JSON.parse(await readFile(join(m.dir, 'tokenizer.json'), 'utf8')) as {
      model: { vocab: Record<string, number> };
    };
    expect(Math.max(...Object.values(tokenizer.model.vocab))).toBeLessThan(m.ids.vocab);
    const tokConfig = JSON.parse(await readFile(join(m.dir, 'tokenizer_config.json'), 'utf8')) as {
      chat_template?: string;
    };
    expect(tokConfig.chat_template).toMatch(/add_generation_prompt/);
  });

  it('loads the same tensors back from safetensors, in the stored dtype', async () => {
    const m = model();
    const st = await openSafetensors(m);
    expect(st.tensors.map((t) => [t.name, t.shape])).toEqual(m.tensors.map((t) => [t.name, t.shape]));
    for (const t of m.tensors) {
      expect(st.get(t.name).dtype).toBe(m.dtype);
      expect(firstDifference(await st.readF32(t.name), t.values), t.name).toBeNull();
    }
  });

  it('has sensible value scales (unit-variance logits, norms near their identity)', () => {
    const m = model();
    const std = (v: Float32Array) => Math.sqrt(v.reduce((a, x) => a + x * x, 0) / v.length);
    const embed = m.tensors.find((t) => t.name === 'model.embed_tokens.weight')!;
    expect(std(embed.values) * Math.sqrt(m.dims.hidden)).toBeGreaterThan(0.9);
    expect(std(embed.values) * Math.sqrt(m.dims.hidden)).toBeLessThan(1.1);
    const norm = m.tensors.find((t) => t.name === 'model.norm.weight')!.values;
    const mean = norm.reduce((a, x) => a + x, 0) / norm.length;
    expect(Math.abs(mean - (m.arch === 'gemma2' ? 0 : 1))).toBeLessThan(0.05);
  });

  it('loads the same tensors back from every GGUF file (after unpermute and norm −1)', async () => {
    const m = model();
    const hf = new Map(m.tensors.map((t) => [t.name, t]));
    const reference = parseModelConfig(m.config);
    for (const [type, file] of Object.entries(m.ggufFiles)) {
      const source = await open(join(m.dir, file));
      const gguf: GgufFile = await readGguf(source);
      const d = parseModelConfig(await readGgufHfConfig(source, gguf));
      expect([d.hidden, d.intermediate, d.layers, d.heads, d.kvHeads, d.headDim, d.vocab]).toEqual([
        reference.hidden,
        reference.intermediate,
        reference.layers,
        reference.heads,
        reference.kvHeads,
        reference.headDim,
        reference.vocab,
      ]);
      expect([d.tieEmbeddings, d.qkvBias, d.qkNorm, d.sandwichNorms, d.fused, d.normPlusOne]).toEqual([
        reference.tieEmbeddings,
        reference.qkvBias,
        reference.qkNorm,
        reference.sandwichNorms,
        reference.fused,
        reference.normPlusOne,
      ]);
      expect([d.attnSoftcap, d.finalSoftcap, d.attnScale, d.ropeTheta]).toEqual([
        reference.attnSoftcap,
        reference.finalSoftcap,
        reference.attnScale,
        reference.ropeTheta,
      ]);
      expect(d.rmsEps).toBeCloseTo(reference.rmsEps, 12);
      if (m.arch !== 'mistral') expect(d.windowPerLayer).toEqual(reference.windowPerLayer);
      expect(d.rope.type).toBe(reference.rope.type);
      if (d.rope.type === 'llama3' && reference.rope.type === 'llama3') {
        const args = (r: typeof d.rope & { type: 'llama3' }) => ({
          factor: r.factor,
          low_freq_factor: r.lowFreqFactor,
          high_freq_factor: r.highFreqFactor,
          original_max_position_embeddings: r.originalMaxPositions,
        });
        const got = llama3RopeFactors(d.headDim, d.ropeTheta, args(d.rope));
        const want = llama3RopeFactors(reference.headDim, reference.ropeTheta, args(reference.rope));
        for (let i = 0; i < want.length; i++) expect(got[i]! / want[i]!).toBeCloseTo(1, 5);
      }

      const seen = new Set<string>();
      for (const info of gguf.tensors) {
        const map = ggufTensorMapping(info.name, {
          arch: ggufString(gguf, 'general.architecture')!,
          heads: d.heads,
          kvHeads: d.kvHeads,
        });
        if (!map) {
          expect(info.name).toBe('rope_freqs.weight');
          continue;
        }
        const t = hf.get(map.hfName);
        expect(t, `${file}: ${info.name} → ${map.hfName}`).toBeDefined();
        seen.add(map.hfName);
        expect(info.shape).toEqual(t!.shape);
        const count = t!.values.length;
        let values = dequantizeGguf(info.type, await readGgufTensor(source, info), count);
        const rows = t!.shape[0]!;
        if (map.unpermuteHeads !== null) values = unpermuteQkRows(values, rows, map.unpermuteHeads);
        const storedType = ggufTypeFor(t!, type as Parameters<typeof ggufTypeFor>[1]);
        expect(info.type).toBe(storedType);
        if (map.normShift !== 0) {
          // GGUF holds fround(w + 1); subtracting 1 returns w up to the rounding of that addition
          expect(
            firstDifference(
              values,
              t!.values.map((v) => v + map.normShift),
            ),
          ).toBeNull();
          values = values.map((v) => v - map.normShift);
          expect(maxAbsDiff(values, t!.values)).toBeLessThanOrEqual(2 ** -23);
        } else if (storedType === 'F32' || (storedType === 'F16' && m.dtype === 'F16')) {
          expect(firstDifference(values, t!.values), `${file}: ${info.name}`).toBeNull();
        } else {
          // quantized: exactly the blocks of the (permuted) HF values, and close to them
          const permuted = map.unpermuteHeads !== null ? permuteQkRows(t!.values, rows, map.unpermuteHeads) : t!.values;
          const expected = dequantizeGguf(storedType, encodeGgufTensor(storedType, permuted, t!.shape), count);
          expect(
            firstDifference(
              values,
              map.unpermuteHeads !== null ? unpermuteQkRows(expected, rows, map.unpermuteHeads) : expected,
            ),
          ).toBeNull();
          const scale = t!.values.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
          expect(maxAbsDiff(values, t!.values)).toBeLessThan(storedType === 'Q8_0' ? scale / 100 : scale / 6);
        }
      }
      expect([...seen].sort()).toEqual([...hf.keys()].sort());
    }
  });
});

describe('fixture generation', () => {
  it('is deterministic for a seed and differs across seeds', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tiny-seed-'));
    try {
      await makeTinyModel('qwen2', join(dir, 'a'), { seed: 7 });
      await makeTinyModel('qwen2', join(dir, 'b'), { seed: 7 });
      await makeTinyModel('qwen2', join(dir, 'c'), { seed: 8 });
      const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((x) => readFile(join(dir, x, 'model.safetensors'))));
      expect(a!.equals(b!)).toBe(true);
      expect(a!.equals(c!)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('has a CLI entry that writes the named repos', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tiny-cli-'));
    try {
      const lines = await runMakeModelsCli([dir, 'tiny/phi3']);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/tiny\/phi3: phi3 default F32, \d+ tensors, gguf F32/);
      expect(JSON.parse(await readFile(join(dir, 'tiny', 'phi3', 'config.json'), 'utf8'))).toMatchObject({
        model_type: 'phi3',
      });
      await expect(runMakeModelsCli([dir, 'tiny/nope'])).rejects.toThrow(/unknown fixture repo tiny\/nope/);
      await expect(runMakeModelsCli([])).rejects.toThrow(/usage: make-models <outDir>/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('writes a Q4_K GGUF when rows fit 256-value blocks', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tiny-q4k-'));
    try {
      const m = await makeTinyModel('llama', dir, {
        dims: { hidden: 256, intermediate: 512, layers: 1 },
        gguf: ['Q4_K'],
      });
      const source = await NodeFileByteSource.open(join(dir, m.ggufFiles.Q4_K!));
      try {
        const gguf = await readGguf(source);
        expect(gguf.byName.get('blk.0.ffn_down.weight')!.type).toBe('Q4_K');
        expect(gguf.byName.get('blk.0.attn_norm.weight')!.type).toBe('F32');
      } finally {
        await source.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
