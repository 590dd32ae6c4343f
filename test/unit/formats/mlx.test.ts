/** mlx-lm adapter folders: keys, shapes, transposition, adapter_config.json fields, scale, and the top-N layer rule. */
import { describe, expect, it } from 'vitest';
import { MemoryByteSource } from '../../../src/formats/byte-source.ts';
import {
  MlxAdapterError,
  mlxAdapterFiles,
  mlxConfigJson,
  mlxLayout,
  mlxWeights,
  readMlxAdapter,
} from '../../../src/formats/mlx.ts';
import { readSafetensorsHeader, readSafetensorsTensor, tensorBytesToF32 } from '../../../src/formats/safetensors.ts';
import { parseModelConfig } from '../../../src/model/config.ts';
import { randomAdapter } from '../../fixtures/random-adapter.ts';
import { seededRng } from '../../harness/rng.ts';

const desc = parseModelConfig({
  model_type: 'llama',
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 50,
});

describe('mlx-lm adapters', () => {
  it('store lora_a = Aᵀ [in, r] and lora_b = Bᵀ [r, out] under model.layers.N.<module>', async () => {
    const rng = seededRng('mlx keys');
    const e = randomAdapter(desc, rng, { rank: 3, targets: ['q_proj', 'k_proj', 'down_proj'], layers: [2, 3] });
    const bytes = mlxWeights(e, desc.layers);
    const source = new MemoryByteSource(bytes);
    const header = await readSafetensorsHeader(source);
    expect(header.metadata).toEqual({ format: 'mlx' });
    expect(header.tensors.map((t) => t.name).sort()).toEqual(
      e.modules.flatMap((m) => [`${m.path}.lora_a`, `${m.path}.lora_b`]).sort(),
    );
    expect(header.byName.has('model.layers.2.self_attn.q_proj.lora_a')).toBe(true);
    for (const m of e.modules) {
      const a = header.byName.get(`${m.path}.lora_a`)!;
      const b = header.byName.get(`${m.path}.lora_b`)!;
      expect(a.dtype).toBe('F32');
      expect(a.shape).toEqual([m.inFeatures, 3]);
      expect(b.shape).toEqual([3, m.outFeatures]);
      const av = tensorBytesToF32(a.dtype, await readSafetensorsTensor(source, a));
      const bv = tensorBytesToF32(b.dtype, await readSafetensorsTensor(source, b));
      for (let r = 0; r < 3; r++) {
        for (let i = 0; i < m.inFeatures; i++) expect(av[i * 3 + r]).toBe(m.A[r * m.inFeatures + i]);
        for (let o = 0; o < m.outFeatures; o++) expect(bv[r * m.outFeatures + o]).toBe(m.B[o * 3 + r]);
      }
    }
    // mlx-lm's forward (x @ lora_a) @ lora_b equals PEFT's B (A x) on a random input.
    const m = e.modules[0]!;
    const a = tensorBytesToF32('F32', await readSafetensorsTensor(source, header.byName.get(`${m.path}.lora_a`)!));
    const b = tensorBytesToF32('F32', await readSafetensorsTensor(source, header.byName.get(`${m.path}.lora_b`)!));
    const x = rng.f32(m.inFeatures);
    const xa = Array.from({ length: 3 }, (_, r) => x.reduce((s, xi, i) => s + xi * a[i * 3 + r]!, 0));
    const mlxY = Array.from({ length: m.outFeatures }, (_, o) =>
      xa.reduce((s, v, r) => s + v * b[r * m.outFeatures + o]!, 0),
    );
    const ax = Array.from({ length: 3 }, (_, r) => x.reduce((s, xi, i) => s + xi * m.A[r * m.inFeatures + i]!, 0));
    const peftY = Array.from({ length: m.outFeatures }, (_, o) => ax.reduce((s, v, r) => s + v * m.B[o * 3 + r]!, 0));
    mlxY.forEach((v, o) => expect(v).toBeCloseTo(peftY[o]!, 12));
  });

  it('write the adapter_config.json fields load_adapters reads, sorted, with scale = alpha / r', () => {
    const rng = seededRng('mlx config');
    const e = randomAdapter(desc, rng, {
      rank: 8,
      alpha: 160,
      dropout: 0.05,
      targets: ['q_proj', 'v_proj', 'gate_proj'],
      layers: [1, 2, 3],
      baseModel: 'Qwen/Qwen2.5-0.5B',
    });
    const text = mlxConfigJson(e, desc.layers);
    expect(text.endsWith('\n')).toBe(true);
    expect(text).toContain('\n    "fine_tune_type"'); // indent 4, as mlx-lm's save_config
    const c = JSON.parse(text);
    expect(Object.keys(c)).toEqual([...Object.keys(c)].sort());
    expect(c).toEqual({
      fine_tune_type: 'lora',
      lora_parameters: {
        dropout: 0.05,
        keys: ['mlp.gate_proj', 'self_attn.q_proj', 'self_attn.v_proj'],
        rank: 8,
        scale: 20,
      },
      model: 'Qwen/Qwen2.5-0.5B',
      num_layers: 3,
    });
  });

  it('rsLoRA scale is alpha / √r; every layer gives num_layers = the model depth', () => {
    const e = randomAdapter(desc, seededRng('mlx rslora'), {
      rank: 16,
      alpha: 8,
      rslora: true,
      targets: ['o_proj'],
      layers: null,
    });
    const c = JSON.parse(mlxConfigJson(e, desc.layers));
    expect(c.lora_parameters.scale).toBe(2);
    expect(c.num_layers).toBe(4);
  });

  it('refuse adapters whose layers are not the top N layers of the model', () => {
    const rng = seededRng('mlx refuse');
    for (const layers of [[0, 1], [1, 3], [0], [2]]) {
      const e = randomAdapter(desc, rng, { targets: ['q_proj'], layers });
      expect(() => mlxAdapterFiles(e, desc.layers)).toThrow(MlxAdapterError);
      expect(() => mlxConfigJson(e, desc.layers)).toThrow(/last num_layers layers/);
    }
    expect(mlxLayout(randomAdapter(desc, rng, { targets: ['q_proj'], layers: [3] }), 4)).toEqual({
      numLayers: 1,
      keys: ['self_attn.q_proj'],
    });
    // A module outside the model's layers: the wrong base model.
    expect(() => mlxLayout(randomAdapter(desc, rng, { targets: ['q_proj'], layers: [4] }), 4)).toThrow(/only 4 layers/);
  });

  it('read back into PEFT orientation: the same A, B, alpha = scale · r, and the layers', async () => {
    const rng = seededRng('mlx read');
    const e = randomAdapter(desc, rng, { rank: 4, alpha: 12, targets: ['q_proj', 'up_proj'], layers: [2, 3] });
    const files = mlxAdapterFiles(e, desc.layers);
    const cfg = new TextDecoder().decode(files.find((f) => f.name === 'adapter_config.json')!.bytes);
    const back = await readMlxAdapter(
      cfg,
      new MemoryByteSource(files.find((f) => f.name === 'adapters.safetensors')!.bytes),
      desc.layers,
    );
    expect(back.rank).toBe(4);
    expect(back.alpha).toBe(12);
    expect(back.layersToTransform).toEqual([2, 3]);
    expect(back.targetModules).toEqual(['q_proj', 'up_proj']);
    for (const m of e.modules) {
      const got = back.modules.find((x) => x.path === m.path)!;
      expect([got.inFeatures, got.outFeatures]).toEqual([m.inFeatures, m.outFeatures]);
      expect(Array.from(got.A)).toEqual(Array.from(m.A));
      expect(Array.from(got.B)).toEqual(Array.from(m.B));
    }
    const all = randomAdapter(desc, rng, { targets: ['k_proj'], layers: null });
    const allFiles = mlxAdapterFiles(all, desc.layers, 'bf16');
    const allBack = await readMlxAdapter(
      new TextDecoder().decode(allFiles[1]!.bytes),
      new MemoryByteSource(allFiles[0]!.bytes),
      desc.layers,
    );
    expect(allBack.layersToTransform).toBeNull();
    const A = all.modules[0]!.A;
    allBack.modules[0]!.A.forEach((v, i) => expect(Math.abs(v - A[i]!)).toBeLessThanOrEqual(2 ** -8 * Math.abs(A[i]!)));
  });

  it('refuse DoRA / full fine-tunes and stray tensors when reading', async () => {
    const e = randomAdapter(desc, seededRng('mlx dora'), { targets: ['q_proj'], layers: [3] });
    const [w, c] = mlxAdapterFiles(e, desc.layers);
    const config = JSON.parse(new TextDecoder().decode(c!.bytes));
    await expect(
      readMlxAdapter(JSON.stringify({ ...config, fine_tune_type: 'dora' }), new MemoryByteSource(w!.bytes)),
    ).rejects.toThrow(/only "lora"/);
    await expect(readMlxAdapter('{', new MemoryByteSource(w!.bytes))).rejects.toThrow(/not valid JSON/);
  });
});
