/** The export entry point: each adapter format's folder (files, dtypes, model card), and what it refuses. */
import { describe, expect, it } from 'vitest';
import { MemoryByteSource } from '../../../src/formats/byte-source.ts';
import { readGgufLora } from '../../../src/formats/gguf-lora.ts';
import { readMlxAdapter } from '../../../src/formats/mlx.ts';
import { readPeftAdapter } from '../../../src/formats/peft.ts';
import { readSafetensorsHeader } from '../../../src/formats/safetensors.ts';
import { parseModelConfig } from '../../../src/model/config.ts';
import { trainConfig } from '../../../src/schema/train.ts';
import { adapterExportFiles, EXPORT_DTYPES } from '../../../src/train/export-formats.ts';
import { checkAdapterFitsModel } from '../../../src/train/exports.ts';
import { randomAdapter } from '../../fixtures/random-adapter.ts';
import { seededRng } from '../../harness/rng.ts';

const desc = parseModelConfig({
  model_type: 'mistral',
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 50,
});
const facts = {
  baseModel: 'tiny/mistral',
  data: 'chat.jsonl',
  config: trainConfig(null, { lora: { rank: 4, alpha: 8 } }),
  steps: 10,
  finalLoss: 1.5,
  finalValLoss: null,
};
const text = (f: { bytes: Uint8Array } | undefined) => new TextDecoder().decode(f!.bytes);

describe('adapterExportFiles', () => {
  it('peft, mlx and gguf folders each with a model card that says how to load them', async () => {
    const e = randomAdapter(desc, seededRng('exports folders'), {
      rank: 4,
      alpha: 8,
      layers: [2, 3],
      baseModel: 'tiny/mistral',
    });
    const peft = await adapterExportFiles('peft', e, { facts, desc, dtype: 'f16' });
    expect(peft.map((f) => f.name)).toEqual(['adapter_model.safetensors', 'adapter_config.json', 'README.md']);
    expect((await readSafetensorsHeader(new MemoryByteSource(peft[0]!.bytes))).tensors[0]!.dtype).toBe('F16');
    expect(text(peft[2])).toContain('library_name: peft');
    expect((await readPeftAdapter(text(peft[1]), new MemoryByteSource(peft[0]!.bytes))).modules.size).toBe(
      e.modules.length,
    );

    const mlx = await adapterExportFiles('mlx', e, { facts, desc, dtype: 'bf16' });
    expect(mlx.map((f) => f.name)).toEqual(['adapters.safetensors', 'adapter_config.json', 'README.md']);
    expect(text(mlx[2])).toContain('library_name: mlx');
    expect(text(mlx[2])).toContain('--adapter-path');
    expect(
      (await readMlxAdapter(text(mlx[1]), new MemoryByteSource(mlx[0]!.bytes), desc.layers)).layersToTransform,
    ).toEqual([2, 3]);

    const gguf = await adapterExportFiles('gguf', e, { facts, desc, dtype: 'f32' });
    expect(gguf.map((f) => f.name)).toEqual(['adapter.gguf', 'README.md']);
    expect(text(gguf[1])).toContain('--lora adapter.gguf');
    expect(text(gguf[1])).toContain('`llama`'); // a Mistral base converts as llama
    const back = await readGgufLora(new MemoryByteSource(gguf[0]!.bytes), desc);
    expect(back.modules.map((m) => m.path).sort()).toEqual(e.modules.map((m) => m.path).sort());
  });

  it('without training facts (CLI conversion) the card lists the adapter settings', async () => {
    const e = randomAdapter(desc, seededRng('exports card'), {
      rank: 8,
      alpha: 16,
      rslora: true,
      targets: ['q_proj'],
      layers: null,
      baseModel: 'org/base',
    });
    for (const format of ['peft', 'mlx', 'gguf'] as const) {
      const card = text(
        (await adapterExportFiles(format, e, { facts: null, desc, dtype: 'f32' })).find((f) => f.name === 'README.md'),
      );
      expect(card).toContain('base_model: "org/base"');
      expect(card).toContain('8 / 16 / 0 (rsLoRA)');
      expect(card).toContain('| layers | 0, 1, 2, 3 |');
    }
  });

  it('refuse dtypes a format is not written in, adapters of another model, and mlx non-suffix layers', async () => {
    const rng = seededRng('exports refuse');
    const e = randomAdapter(desc, rng, { targets: ['q_proj'], layers: [0] });
    expect(EXPORT_DTYPES.gguf).toEqual(['f32', 'f16']);
    await expect(adapterExportFiles('gguf', e, { facts, desc, dtype: 'bf16' })).rejects.toThrow(/f32 or f16, not bf16/);
    await expect(adapterExportFiles('mlx', e, { facts, desc, dtype: 'f32' })).rejects.toThrow(/last num_layers/);
    const bigger = parseModelConfig({
      ...{
        model_type: 'mistral',
        hidden_size: 64,
        intermediate_size: 48,
        num_hidden_layers: 4,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        vocab_size: 50,
      },
    });
    expect(() => checkAdapterFitsModel(e, bigger)).toThrow(/another base model/);
    await expect(adapterExportFiles('peft', e, { facts, desc: bigger, dtype: 'f32' })).rejects.toThrow(
      /another base model/,
    );
    const deep = randomAdapter(
      parseModelConfig({
        model_type: 'mistral',
        hidden_size: 32,
        intermediate_size: 48,
        num_hidden_layers: 8,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        vocab_size: 50,
      }),
      rng,
      { targets: ['q_proj'], layers: [6] },
    );
    await expect(adapterExportFiles('gguf', deep, { facts, desc, dtype: 'f32' })).rejects.toThrow(/4 layers/);
  });
});
