import { describe, expect, it } from 'vitest';
import { MemoryByteSource } from '../../../src/formats/byte-source.ts';
import {
  type PeftExport,
  parsePeftConfig,
  peftConfigJson,
  peftWeights,
  readPeftAdapter,
} from '../../../src/formats/peft.ts';
import { readSafetensorsHeader } from '../../../src/formats/safetensors.ts';
import { seededRng } from '../../harness/rng.ts';

function sample(): PeftExport {
  const rng = seededRng('peft');
  const m = (path: string, inF: number, outF: number) => ({
    path,
    inFeatures: inF,
    outFeatures: outF,
    A: rng.f32(4 * inF),
    B: rng.f32(outF * 4),
  });
  return {
    rank: 4,
    alpha: 16,
    dropout: 0.05,
    rslora: false,
    targetModules: ['q_proj', 'v_proj'],
    layersToTransform: [1],
    baseModel: 'Qwen/Qwen2.5-0.5B-Instruct',
    modules: [m('model.layers.1.self_attn.q_proj', 16, 16), m('model.layers.1.self_attn.v_proj', 16, 8)],
  };
}

describe('PEFT adapters', () => {
  it('write the keys, shapes, metadata and classic config fields PEFT loads', async () => {
    const e = sample();
    const bytes = peftWeights(e);
    const header = await readSafetensorsHeader(new MemoryByteSource(bytes));
    expect(header.metadata).toEqual({ format: 'pt' });
    expect(header.byName.get('base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight')?.shape).toEqual([4, 16]);
    expect(header.byName.get('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight')?.shape).toEqual([8, 4]);
    const config = JSON.parse(peftConfigJson(e));
    expect(Object.keys(config).sort()).toEqual(
      [
        'base_model_name_or_path',
        'bias',
        'fan_in_fan_out',
        'inference_mode',
        'init_lora_weights',
        'layers_to_transform',
        'lora_alpha',
        'lora_dropout',
        'modules_to_save',
        'peft_type',
        'r',
        'target_modules',
        'task_type',
        'use_dora',
        'use_rslora',
      ].sort(),
    );
    expect(config).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 4,
      lora_alpha: 16,
      bias: 'none',
      use_dora: false,
      modules_to_save: null,
    });
  });

  it('read back exactly what was written, with the scaling', async () => {
    const e = sample();
    const adapter = await readPeftAdapter(peftConfigJson(e), new MemoryByteSource(peftWeights(e)));
    expect(adapter.scaling).toBe(4);
    for (const m of e.modules) {
      const got = adapter.modules.get(m.path)!;
      expect(Array.from(got.A)).toEqual(Array.from(m.A));
      expect(Array.from(got.B)).toEqual(Array.from(m.B));
      expect([got.inFeatures, got.outFeatures]).toEqual([m.inFeatures, m.outFeatures]);
    }
    const rs = await readPeftAdapter(peftConfigJson({ ...e, rslora: true }), new MemoryByteSource(peftWeights(e)));
    expect(rs.scaling).toBe(16 / 2);
  });

  it('refuses what it cannot apply, with the reason', async () => {
    expect(() => parsePeftConfig({ peft_type: 'IA3' })).toThrow(/LoRA adapter config/);
    expect(() => parsePeftConfig({ peft_type: 'LORA', use_dora: true })).toThrow(/DoRA/);
    const e = sample();
    await expect(
      readPeftAdapter(peftConfigJson({ ...e, rank: 8 }), new MemoryByteSource(peftWeights(e))),
    ).rejects.toThrow(/r = 8/);
  });
});
