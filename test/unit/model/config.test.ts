import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UnsupportedModelError, parameterCount, parseModelConfig } from '../../../src/model/config.ts';

const DIR = join(__dirname, '..', '..', '..', 'src', 'model', 'catalog');
const load = (name: string) => parseModelConfig(JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8')));

describe('config.json parsing', () => {
  it('accepts every real config in test/fixtures/model-configs', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(13);
    for (const f of files)
      expect(() => parseModelConfig(JSON.parse(readFileSync(join(DIR, f), 'utf8'))), f).not.toThrow();
  });

  it('counts parameters like the published model sizes', () => {
    // Published sizes: Llama-3-8B 8.03B, Qwen2.5-0.5B 0.494B, SmolLM2-135M 134.5M, gemma-2-2b 2.61B, Qwen3-0.6B 0.596B (tied).
    expect(parameterCount(load('Meta-Llama-3-8B-Instruct')) / 1e9).toBeCloseTo(8.03, 2);
    expect(parameterCount(load('Qwen2.5-0.5B-Instruct')) / 1e9).toBeCloseTo(0.494, 3);
    expect(parameterCount(load('SmolLM2-135M-Instruct')) / 1e6).toBeCloseTo(134.5, 0);
    expect(parameterCount(load('gemma-2-2b-it')) / 1e9).toBeCloseTo(2.61, 2);
    expect(parameterCount(load('Qwen3-0.6B')) / 1e9).toBeCloseTo(0.596, 3);
  });

  it('reads the architecture differences', () => {
    const gemma2 = load('gemma-2-2b-it');
    expect(gemma2).toMatchObject({
      arch: 'gemma2',
      normPlusOne: true,
      sandwichNorms: true,
      activation: 'gelu_tanh',
      attnSoftcap: 50,
      finalSoftcap: 30,
      tieEmbeddings: true,
      headDim: 256,
    });
    expect(gemma2.attnScale).toBeCloseTo(256 ** -0.5, 12);
    expect(gemma2.embedScale).toBeCloseTo(Math.sqrt(2304), 12);
    expect(gemma2.windowPerLayer.slice(0, 4)).toEqual([4096, null, 4096, null]);
    expect(gemma2.eosTokenIds).toEqual([1, 107]);

    const qwen3 = load('Qwen3-0.6B');
    expect(qwen3).toMatchObject({ arch: 'qwen3', qkNorm: true, qkvBias: false, headDim: 128, heads: 16, kvHeads: 8 });
    expect(qwen3.windowPerLayer.every((w) => w === null)).toBe(true);

    const qwen2 = load('Qwen2.5-0.5B-Instruct');
    expect(qwen2).toMatchObject({
      arch: 'qwen2',
      qkvBias: true,
      qkNorm: false,
      tieEmbeddings: true,
      ropeTheta: 1e6,
      headDim: 64,
    });
    expect(qwen2.windowPerLayer.every((w) => w === null)).toBe(true); // use_sliding_window: false

    const phi3 = load('Phi-3-mini-4k-instruct');
    expect(phi3).toMatchObject({ arch: 'phi3', fused: true, heads: 32, kvHeads: 32, headDim: 96 });
    expect(phi3.windowPerLayer[0]).toBe(2047);

    const llama32 = load('Llama-3.2-1B-Instruct');
    expect(llama32.rope).toEqual({
      type: 'llama3',
      factor: 32,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositions: 8192,
    });
    expect(llama32.eosTokenIds).toEqual([128001, 128008, 128009]);
    expect(llama32.tieEmbeddings).toBe(true);

    expect(load('Mistral-7B-Instruct-v0.2').windowPerLayer.every((w) => w === null)).toBe(true); // sliding_window: null
    expect(load('gemma-2b-it')).toMatchObject({
      arch: 'gemma',
      activation: 'gelu_tanh',
      sandwichNorms: false,
      normPlusOne: true,
      kvHeads: 1,
    });
  });

  it('names the model type and the supported ones for an unsupported model', () => {
    const err = (() => {
      try {
        parseModelConfig({ model_type: 'gpt2', n_embd: 768 });
      } catch (e) {
        return e as Error;
      }
      throw new Error('expected a throw');
    })();
    expect(err).toBeInstanceOf(UnsupportedModelError);
    expect(err.message).toContain('"gpt2"');
    for (const t of ['llama', 'mistral', 'qwen2', 'qwen3', 'gemma2', 'phi3']) expect(err.message).toContain(t);
  });

  it('explains malformed configs', () => {
    expect(() => parseModelConfig({ hidden_size: 8 })).toThrow(/model_type/);
    expect(() => parseModelConfig({ model_type: 'llama', hidden_size: 64 })).toThrow(/num_hidden_layers/);
    expect(() =>
      parseModelConfig({
        model_type: 'llama',
        hidden_size: 64,
        intermediate_size: 128,
        num_hidden_layers: 2,
        num_attention_heads: 6,
        vocab_size: 10,
      }),
    ).toThrow(/divisible/);
    expect(() =>
      parseModelConfig({
        model_type: 'llama',
        hidden_size: 64,
        intermediate_size: 128,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        vocab_size: 10,
        rope_scaling: { rope_type: 'yarn', factor: 4 },
      }),
    ).toThrow(/yarn/);
  });
});
