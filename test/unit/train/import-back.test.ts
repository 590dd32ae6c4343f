/**
 * Bringing a PEFT adapter back (src/train/scale-out/import-back.ts): a folder in the layout PEFT's
 * save_pretrained writes — adapter_config.json with PEFT's own fields, adapter_model.safetensors with
 * `base_model.model.<path>.lora_A.weight` keys in F32 or BF16 — becomes a checkpoint whose adapter, settings and
 * config are the folder's, and that the Export page's writer turns into PEFT (same values), MLX and GGUF files.
 */
import { describe, expect, it } from 'vitest';
import { MemoryByteSource } from '../../../src/formats/byte-source.ts';
import { bf16ToF32, f32ArrayToBf16 } from '../../../src/formats/half.ts';
import { readPeftAdapter } from '../../../src/formats/peft.ts';
import { writeSafetensors } from '../../../src/formats/safetensors-write.ts';
import { parseModelConfig } from '../../../src/model/config.ts';
import { adapterFromCheckpoint } from '../../../src/train/adapter.ts';
import { readRunState } from '../../../src/train/checkpoint.ts';
import { peftAsCheckpoint } from '../../../src/train/scale-out/import-back.ts';
import { adapterExport } from '../../../src/worker/export-files.ts';
import { Rng, testSeed } from '../../harness/rng.ts';
import { projectionOf, type Target } from '../../fixtures/random-adapter.ts';

/** config.json of a tiny Qwen2 (hidden 64, 3 layers) as the fixture models write it. */
function tinyDesc() {
  return parseModelConfig({
    model_type: 'qwen2',
    architectures: ['Qwen2ForCausalLM'],
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 3,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: 300,
    max_position_embeddings: 512,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: false,
    torch_dtype: 'float32',
  });
}

/** The files PEFT 0.13's save_pretrained writes for a LoRA on `layers` × `targets` (values rounded to the dtype). */
function peftFolder(
  rng: Rng,
  o: {
    rank: number;
    alpha: number;
    rslora: boolean;
    targets: Target[];
    layers: number[] | null;
    dtype: 'F32' | 'BF16';
  },
) {
  const d = tinyDesc();
  const tensors = [];
  const values = new Map<string, { A: Float32Array; B: Float32Array }>();
  for (const layer of o.layers ?? [0, 1, 2]) {
    for (const t of o.targets) {
      const { group, inF, outF } = projectionOf(d, t);
      const path = `model.layers.${layer}.${group}.${t}`;
      let A = rng.f32(o.rank * inF, -0.3, 0.3);
      let B = rng.f32(outF * o.rank, -0.3, 0.3);
      if (o.dtype === 'BF16') {
        A = Float32Array.from(f32ArrayToBf16(A), (b) => bf16ToF32(b));
        B = Float32Array.from(f32ArrayToBf16(B), (b) => bf16ToF32(b));
      }
      values.set(path, { A, B });
      for (const [name, shape, data] of [
        ['lora_A', [o.rank, inF], A],
        ['lora_B', [outF, o.rank], B],
      ] as const)
        tensors.push({
          name: `base_model.model.${path}.${name}.weight`,
          dtype: o.dtype,
          shape: [...shape],
          data: o.dtype === 'F32' ? data : f32ArrayToBf16(data),
        });
    }
  }
  // PEFT writes target_modules from a set: in no particular order.
  const config = {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: 'Qwen/Qwen2.5-0.5B-Instruct',
    bias: 'none',
    eva_config: null,
    exclude_modules: null,
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: o.layers,
    loftq_config: {},
    lora_alpha: o.alpha,
    lora_bias: false,
    lora_dropout: 0.05,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: null,
    peft_type: 'LORA',
    r: o.rank,
    rank_pattern: {},
    revision: null,
    target_modules: [...o.targets].reverse(),
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: o.rslora,
  };
  return {
    configText: JSON.stringify(config, null, 2),
    weights: writeSafetensors(tensors, { format: 'pt' }),
    values,
    desc: d,
  };
}

describe('import a PEFT adapter back', () => {
  it.each([
    { name: 'every layer, F32', layers: null, dtype: 'F32' as const, rslora: false },
    { name: 'layers 1-2, BF16, rsLoRA', layers: [1, 2], dtype: 'BF16' as const, rslora: true },
  ])('as a checkpoint that exports to PEFT, MLX and GGUF: $name', async (c) => {
    const rng = new Rng(testSeed(`import-back ${c.name}`));
    const targets: Target[] = ['q_proj', 'v_proj', 'down_proj'];
    const folder = peftFolder(rng, { rank: 4, alpha: 8, rslora: c.rslora, targets, layers: c.layers, dtype: c.dtype });
    const imported = await peftAsCheckpoint(folder.configText, new MemoryByteSource(folder.weights), {
      baseModel: 'local/tiny',
      modelLayers: 3,
    });
    const state = await readRunState(imported.bytes);
    expect(state.step).toBe(0);
    expect(state.config.lora).toMatchObject({
      rank: 4,
      alpha: 8,
      rslora: c.rslora,
      dropout: 0.05,
      targets: ['q_proj', 'v_proj', 'down_proj'],
      layers: c.layers ?? 'all',
    });
    expect(state.adapter).toMatchObject({
      rank: 4,
      alpha: 8,
      layers: c.layers,
      baseModel: 'Qwen/Qwen2.5-0.5B-Instruct',
    });
    const back = await adapterFromCheckpoint(imported.bytes);
    expect(back.modules).toHaveLength(folder.values.size);
    for (const m of back.modules) {
      expect(m.A).toEqual(folder.values.get(m.path)!.A);
      expect(m.B).toEqual(folder.values.get(m.path)!.B);
    }

    const run = {
      name: 'imported',
      datasetName: 'imported PEFT adapter',
      model: { repo: 'local/tiny', revision: 'main' },
    };
    const checkpoint = { step: 0, valLoss: null, bytes: imported.bytes };
    const peft = await adapterExport({
      run,
      checkpoint,
      which: 'latest',
      format: 'peft',
      dtype: 'f32',
      loss: null,
      desc: folder.desc,
    });
    const files = new Map(peft.files.map((f) => [f.name, f.bytes]));
    const reread = await readPeftAdapter(
      new TextDecoder().decode(files.get('adapter_config.json')),
      new MemoryByteSource(files.get('adapter_model.safetensors')!),
    );
    expect(reread.config).toMatchObject({ r: 4, lora_alpha: 8, use_rslora: c.rslora });
    expect(reread.config.layers_to_transform ?? null).toEqual(c.layers);
    for (const [path, v] of folder.values) {
      expect(reread.modules.get(path)!.A).toEqual(v.A);
      expect(reread.modules.get(path)!.B).toEqual(v.B);
    }
    for (const format of ['mlx', 'gguf'] as const) {
      // (mlx-lm adapts the last N layers: layers 1-2 of 3 are those)
      const out = await adapterExport({
        run,
        checkpoint,
        which: 'latest',
        format,
        dtype: 'f32',
        loss: null,
        desc: folder.desc,
      });
      expect(out.files.map((f) => f.name)).toEqual(
        expect.arrayContaining([format === 'mlx' ? 'adapters.safetensors' : 'adapter.gguf']),
      );
    }
  });

  it('refuses an adapter on modules the app does not train, and one without layer paths', async () => {
    const rng = new Rng(testSeed('import-back refusals'));
    const folder = peftFolder(rng, {
      rank: 2,
      alpha: 4,
      rslora: false,
      targets: ['q_proj'],
      layers: [0],
      dtype: 'F32',
    });
    const renamed = writeSafetensors(
      [
        { name: 'base_model.model.lm_head.lora_A.weight', dtype: 'F32', shape: [2, 64], data: new Float32Array(128) },
        { name: 'base_model.model.lm_head.lora_B.weight', dtype: 'F32', shape: [300, 2], data: new Float32Array(600) },
      ],
      { format: 'pt' },
    );
    await expect(
      peftAsCheckpoint(folder.configText, new MemoryByteSource(renamed), { baseModel: 'x', modelLayers: 3 }),
    ).rejects.toThrow(/names no layer/);
    const onEmbed = writeSafetensors(
      [
        {
          name: 'base_model.model.model.layers.0.mlp.fc1.lora_A.weight',
          dtype: 'F32',
          shape: [2, 64],
          data: new Float32Array(128),
        },
        {
          name: 'base_model.model.model.layers.0.mlp.fc1.lora_B.weight',
          dtype: 'F32',
          shape: [128, 2],
          data: new Float32Array(256),
        },
      ],
      { format: 'pt' },
    );
    await expect(
      peftAsCheckpoint(folder.configText, new MemoryByteSource(onEmbed), { baseModel: 'x', modelLayers: 3 }),
    ).rejects.toThrow(/fc1, which this app does not train/);
  });
});
