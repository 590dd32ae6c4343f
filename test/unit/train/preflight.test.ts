import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../../../src/model/config.ts';
import { planMemory } from '../../../src/model/plan.ts';
import { trainConfig } from '../../../src/schema/train.ts';
import { MAX_TOKENS_PER_STEP, preflight } from '../../../src/train/preflight.ts';

const DIR = join(__dirname, '..', '..', '..', 'src', 'model', 'catalog');
const load = (name: string) => parseModelConfig(JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8')));
const model = load('Qwen2.5-0.5B-Instruct');
const data = { trainExamples: 10, validExamples: 2, longestTokens: 120, totalTokens: 900 };
const limits = { maxBufferSize: 2 ** 31, maxStorageBufferBindingSize: 2 ** 30 };

describe('pre-flight', () => {
  it('counts steps, epochs and tokens per step, and plans the memory the engine will allocate', () => {
    const config = trainConfig(null, { steps: 40, microBatch: 1, gradAccum: 1, maxLength: 512 });
    const p = preflight({ config, model, data, limits, memoryBudgetBytes: 8 * 2 ** 30 });
    expect(p.totalSteps).toBe(40);
    expect(p.epochs).toBeCloseTo(4, 12); // 40 steps × 1 row over 10 rows
    expect(p.rowTokens).toBe(120); // the longest example, not maxLength
    expect(p.tokensPerStep).toBe(120);
    const plan = planMemory(model, {
      quant: config.base,
      seq: 120,
      rank: config.lora.rank,
      batch: 1,
      checkpointing: config.checkpointing,
      targets: config.lora.targets,
      maxBindingBytes: 2 ** 30,
    });
    expect(p.plan.total_bytes).toBe(plan.total_bytes);
    expect(p.problems).toEqual([]);
  });

  it('derives the steps from epochs and warns when they repeat a small dataset many times', () => {
    const p = preflight({ config: trainConfig(null, { epochs: 9, microBatch: 2, gradAccum: 2 }), model, data });
    expect(p.totalSteps).toBe(Math.ceil((9 * 10) / 4));
    expect(p.epochs).toBeCloseTo((23 * 4) / 10, 12);
    expect(p.warnings.join(' ')).toMatch(/9\.2 epochs/);
  });

  it('refuses rank 512, micro-batch 64 and max length 1,000,000 with sentences that say what to change', () => {
    const config = trainConfig(null, { lora: { rank: 512 }, microBatch: 64, maxLength: 1_000_000 });
    const p = preflight({ config, model, data: { ...data, longestTokens: 40_000, totalTokens: 60_000 }, limits });
    const text = p.problems.join('\n');
    expect(text).toMatch(/Max length 1,000,000 is longer than this model's context of 32,768 tokens; set it to 32,768/);
    expect(text).toMatch(/Micro-batch 64 is larger than the 10 training examples; set it to 10 or less/);
    expect(text).toMatch(/One step would run 2,560,000 tokens .*lower the micro-batch/);
    expect(p.tokensPerStep).toBeGreaterThan(MAX_TOKENS_PER_STEP);
  });

  it('refuses a plan over the memory budget or over the per-buffer limit', () => {
    const config = trainConfig(null, { microBatch: 8, maxLength: 4096 });
    const big = { ...data, trainExamples: 100, longestTokens: 4096, totalTokens: 200_000 };
    const p = preflight({
      config,
      model,
      data: big,
      limits: { maxBufferSize: 2 ** 27, maxStorageBufferBindingSize: 2 ** 27 },
      memoryBudgetBytes: 2 ** 30,
    });
    expect(p.largestBufferBytes).toBeGreaterThan(2 ** 27);
    expect(p.problems.some((s) => /over this GPU's limit of 128\.0 MiB per buffer/.test(s))).toBe(true);
    expect(p.plan.total_bytes).toBeGreaterThan(2 ** 30);
    expect(p.problems.some((s) => /over the budget of 1\.00 GiB; lower the rank/.test(s))).toBe(true);
  });

  it('refuses a rank above the hidden size and an empty training split', () => {
    const tiny = { ...model, hidden: 64 };
    const p = preflight({
      config: trainConfig(null, { lora: { rank: 128 } }),
      model: tiny,
      data: { ...data, trainExamples: 0 },
    });
    expect(p.totalSteps).toBe(0);
    expect(p.problems.join('\n')).toMatch(/Rank 128 is larger than the model's hidden size 64/);
    expect(p.problems.join('\n')).toMatch(/no training example/);
  });
});
