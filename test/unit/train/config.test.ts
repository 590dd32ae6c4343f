import { describe, expect, it } from 'vitest';
import { IGNORE_INDEX } from '../../../src/kernels/cross_entropy.ts';
import { PRESET_TEXT, PRESETS, trainConfig } from '../../../src/schema/train.ts';
import { microBatch, trainedTokens } from '../../../src/train/batches.ts';
import { learningRate } from '../../../src/train/schedule.ts';

describe('training configuration', () => {
  it('carries the presets of the pipelines people run', () => {
    const asp = trainConfig('asp-coder');
    expect(asp.lora).toMatchObject({ rank: 16, alpha: 160, dropout: 0.05, layers: { top: 16 } });
    expect([asp.microBatch, asp.gradAccum, asp.optim.schedule]).toEqual([1, 4, 'cosine']);
    const dot = trainConfig('dot-qlora');
    expect(dot.lora).toMatchObject({ rank: 16, alpha: 32, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] });
    expect([dot.optim.lr, dot.epochs, dot.microBatch, dot.gradAccum, dot.base]).toEqual([2e-4, 5, 4, 4, 'nf4']);
    const persona = trainConfig('persona');
    expect([
      persona.lora.rank,
      persona.lora.alpha,
      persona.lora.dropout,
      persona.optim.lr,
      persona.steps,
      persona.microBatch,
      persona.maxLength,
    ]).toEqual([8, 160, 0, 1e-5, 500, 2, 2048]);
    expect(trainConfig('raw-text').maxLength).toBe(512);
    // Each preset says the precision of its base: the ASP and persona pipelines train on a 16-bit base, DOT is QLoRA.
    expect([asp.base, dot.base, persona.base, trainConfig('raw-text').base]).toEqual(['bf16', 'nf4', 'bf16', 'bf16']);
    for (const [name, text] of Object.entries(PRESET_TEXT))
      expect(text, name).toMatch(trainConfig(name as keyof typeof PRESETS).base === 'nf4' ? /4-bit/ : /16-bit/);
    expect(Object.keys(PRESETS)).toHaveLength(4);
  });

  it('merges overrides into a preset field by field and validates them', () => {
    const c = trainConfig('asp-coder', { lora: { rank: 32 }, optim: { lr: 1e-4 } });
    expect(c.lora).toMatchObject({ rank: 32, alpha: 160, dropout: 0.05 });
    expect(c.optim.lr).toBe(1e-4);
    expect(() => trainConfig(null, { lora: { rank: 0 } })).toThrow();
    expect(() => trainConfig(null, { optim: { schedule: 'step' as 'cosine' } })).toThrow();
  });
});

describe('learning-rate schedule', () => {
  const o = trainConfig(null, { optim: { lr: 1, warmupSteps: 2, schedule: 'cosine', minLrRatio: 0.1 } }).optim;
  it('warms up linearly, then decays from the full rate towards the floor', () => {
    expect(learningRate(o, 1, 12)).toBeCloseTo(0.5, 12);
    expect(learningRate(o, 2, 12)).toBeCloseTo(1, 12);
    expect(learningRate(o, 3, 12)).toBeCloseTo(1, 12);
    expect(learningRate(o, 8, 12)).toBeCloseTo(0.1 + 0.9 * 0.5 * (1 + Math.cos((Math.PI * 5) / 10)), 12);
    for (let s = 3; s < 12; s++) expect(learningRate(o, s + 1, 12)).toBeLessThan(learningRate(o, s, 12));
    expect(learningRate(o, 12, 12)).toBeGreaterThan(0.1);
    expect(learningRate({ ...o, schedule: 'linear' }, 7, 12)).toBeCloseTo(0.1 + 0.9 * (1 - 4 / 10), 12);
    expect(learningRate({ ...o, schedule: 'constant' }, 9, 12)).toBe(1);
  });
});

describe('micro-batches', () => {
  it('predict the next token only where it is learned, and pad the rest', () => {
    const b = microBatch(
      [
        { ids: [5, 6, 7, 8], mask: [0, 0, 1, 1] },
        { ids: [9, 10], mask: [0, 1] },
      ],
      4,
    );
    expect(Array.from(b.ids)).toEqual([5, 6, 7, 8, 9, 10, 0, 0]);
    const I = IGNORE_INDEX;
    expect(Array.from(b.targets)).toEqual([I, 7, 8, I, 10, I, I, I]);
    expect(trainedTokens([b])).toBe(3);
    expect(() => microBatch([{ ids: [1, 2], mask: [1] }], 4)).toThrow(/mask/);
  });
});
