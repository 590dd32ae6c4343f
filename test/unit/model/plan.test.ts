import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelAllocations, weightBytes } from '../../../src/model/allocations.ts';
import { parseModelConfig } from '../../../src/model/config.ts';
import { planMemory, settingsFor } from '../../../src/model/plan.ts';

const DIR = join(__dirname, '..', '..', '..', 'src', 'model', 'catalog');
const load = (name: string) => parseModelConfig(JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8')));
const GiB = 2 ** 30;

describe('memory plan', () => {
  it('fits Llama-3-8B with nf4, rank 16, sequence 2048, batch 1 and checkpointing in 8 GiB', () => {
    const plan = planMemory(load('Meta-Llama-3-8B-Instruct'), {
      quant: 'nf4',
      seq: 2048,
      rank: 16,
      batch: 1,
      checkpointing: true,
    });
    expect(plan.total_bytes).toBeLessThan(8 * GiB);
    // The nf4 projections alone are 6.98e9 params × 0.5625 bytes.
    expect(plan.by_category.weights).toBeGreaterThan(3.9e9);
  });

  it('sizes block formats as the loader lays them out', () => {
    expect(weightBytes('nf4', 4096, 4096)).toBe(4096 * 4096 * 0.5 + (4096 * 4096 * 4) / 64);
    expect(weightBytes('q4_0', 32, 32)).toBe(32 * 18);
    expect(weightBytes('q8_0', 1, 64)).toBe(68);
    expect(weightBytes('bf16', 3, 5)).toBe(30);
  });

  it('orders the choices as a user expects', () => {
    const d = load('Qwen2.5-1.5B-Instruct');
    const at = (quant: 'none' | 'q8_0' | 'q4_0' | 'nf4', checkpointing = false, rank = 16) =>
      planMemory(d, { quant, seq: 1024, rank, checkpointing });
    expect(at('nf4').by_category.weights).toBeLessThan(at('q8_0').by_category.weights);
    expect(at('q8_0').by_category.weights).toBeLessThan(at('none').by_category.weights);
    expect(at('nf4', true).by_category.activations).toBeLessThan(at('nf4', false).by_category.activations / 3);
    expect(at('nf4', false, 32).by_category.lora).toBe(2 * at('nf4', false, 16).by_category.lora);
  });

  it('puts LoRA only on the top N layers when asked', () => {
    const d = load('SmolLM2-135M-Instruct');
    const s = settingsFor(d, { quant: 'nf4', seq: 512, rank: 8, topLayers: 4 });
    expect(s.loraLayers).toEqual([26, 27, 28, 29]);
    const names = modelAllocations(d, s)
      .filter((a) => a.category === 'lora')
      .map((a) => a.name);
    expect(names).toHaveLength(4 * 7);
    expect(names.every((n) => /layers\.(26|27|28|29)\./.test(n))).toBe(true);
  });

  it('does not count training activations and the KV cache at the same time', () => {
    const plan = planMemory(load('Llama-3.2-1B-Instruct'), { quant: 'nf4', seq: 2048, rank: 16 });
    const sum = Object.values(plan.by_category).reduce((a, b) => a + b, 0);
    expect(plan.total_bytes).toBe(Math.max(plan.phase_bytes.train, plan.phase_bytes.generate));
    expect(plan.total_bytes).toBeLessThan(sum);
  });
});
