/**
 * `cli train` end to end on a tiny model and the pre-split SQL chat set: metrics.jsonl with step/loss and val_loss
 * lines, a PEFT folder with the classic config, and the exported adapter applied by `cli logits --adapter`.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeFileByteSource } from '../../src/formats/byte-source-node.ts';
import { readPeftAdapter } from '../../src/formats/peft.ts';
import { readSafetensorsHeader } from '../../src/formats/safetensors.ts';
import { MetricsJsonlLineSchema } from '../../src/schema/metrics.ts';
import { makeTinyModel } from '../fixtures/make-models.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cli-train-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('cli train', () => {
  it('trains, logs metrics and exports a PEFT adapter that cli logits applies', async () => {
    const { command: train } = await import('../../src/cli/commands/train.ts');
    const { command: logits } = await import('../../src/cli/commands/logits.ts');
    const model = join(root, 'model');
    await makeTinyModel('qwen2', model, {});
    const out = join(root, 'adapter');
    const data = join(__dirname, '..', 'fixtures', 'datasets', 'chatml_presplit');
    const code = await train.run([
      '--model',
      model,
      '--data',
      data,
      '--out',
      out,
      '--rank',
      '4',
      '--alpha',
      '8',
      '--targets',
      'q_proj,v_proj',
      '--lr',
      '0.01',
      '--steps',
      '4',
      '--batch',
      '2',
      '--grad-accum',
      '1',
      '--eval-every',
      '2',
      '--quant',
      'none',
      '--max-length',
      '256',
      '--samples',
      '2',
      '--sample-tokens',
      '6',
      '--validator',
      'sql',
    ]);
    expect(code).toBe(0);

    const lines = (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number>);
    // every line is one of the documented metrics.jsonl lines (docs/formats.md), no key more or less
    for (const l of lines) expect(MetricsJsonlLineSchema.safeParse(l).error, JSON.stringify(l)).toBeUndefined();
    const steps = lines.filter((l) => 'loss' in l);
    expect(steps.map((l) => l.step)).toEqual([1, 2, 3, 4]);
    expect(steps.every((l) => Number.isFinite(l.loss) && l.loss! > 0)).toBe(true);
    const evals = lines.filter((l) => 'val_loss' in l);
    expect(evals.map((l) => l.step)).toEqual([2, 4]);
    expect(evals.every((l) => Number.isFinite(l.val_loss))).toBe(true);
    // Sample generations at each evaluation, checked by the SQL validator (a tiny random model writes no valid SQL).
    const sampled = lines.filter((l) => 'samples' in l) as unknown as {
      step: number;
      samples: { prompt: string; output: string; valid: boolean; error?: string }[];
      validity: number;
    }[];
    expect(sampled.map((l) => l.step)).toEqual([2, 4]);
    for (const s of sampled) {
      expect(s.samples).toHaveLength(2);
      expect(s.samples.every((x) => typeof x.output === 'string' && typeof x.valid === 'boolean')).toBe(true);
      expect(s.validity).toBe(s.samples.filter((x) => x.valid).length / 2);
      for (const x of s.samples) if (!x.valid) expect(x.error).toBeTruthy();
    }

    const config = JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 4,
      lora_alpha: 8,
      target_modules: ['q_proj', 'v_proj'],
      bias: 'none',
      use_dora: false,
    });
    const src = await NodeFileByteSource.open(join(out, 'adapter_model.safetensors'));
    const header = await readSafetensorsHeader(src);
    expect(header.metadata).toEqual({ format: 'pt' });
    expect(header.byName.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')?.shape).toEqual([4, 64]);
    const adapter = await readPeftAdapter(JSON.stringify(config), src);
    await src.close();
    // Training moved B away from its zero init.
    expect([...adapter.modules.values()].some((m) => m.B.some((v) => v !== 0))).toBe(true);
    expect(await readFile(join(out, 'README.md'), 'utf8')).toMatch(/LoRA adapter for/);

    // run.json hands the run over: `cli export-run --run DIR` writes train.py with the run's settings.
    const { command: exportRun } = await import('../../src/cli/commands/export-run.ts');
    const scale = join(root, 'scale-out');
    expect(await exportRun.run(['--run', out, '--out', scale])).toBe(0);
    const script = await readFile(join(scale, 'train.py'), 'utf8');
    for (const line of ['"r": 4,', '"lora_alpha": 8,', '"target_modules": ["q_proj", "v_proj"],', '"max_steps": 4,'])
      expect(script).toContain(line);
    expect(script).toContain('"learning_rate": 0.01,');

    // Continue training the exported adapter: it starts where the first run ended, not from scratch.
    const out2 = join(root, 'adapter2');
    expect(
      await train.run([
        '--model',
        model,
        '--data',
        data,
        '--out',
        out2,
        '--adapter',
        out,
        '--lr',
        '0.01',
        '--steps',
        '1',
        '--batch',
        '2',
        '--quant',
        'none',
        '--max-length',
        '256',
      ]),
    ).toBe(0);
    const continued = (await readFile(join(out2, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number>);
    expect(continued[0]!.loss!).toBeLessThan(steps[0]!.loss!);
    expect(JSON.parse(await readFile(join(out2, 'adapter_config.json'), 'utf8'))).toMatchObject({
      r: 4,
      lora_alpha: 8,
      target_modules: ['q_proj', 'v_proj'],
    });

    const ids = [5, 9, 13, 2];
    const base = join(root, 'base.json');
    const adapted = join(root, 'adapted.json');
    expect(await logits.run(['--model', model, '--tokens', ids.join(','), '--out', base])).toBe(0);
    expect(await logits.run(['--model', model, '--adapter', out, '--tokens', ids.join(','), '--out', adapted])).toBe(0);
    const a = (JSON.parse(await readFile(base, 'utf8')) as { logits: number[][] }).logits.flat();
    const b = (JSON.parse(await readFile(adapted, 'utf8')) as { logits: number[][] }).logits.flat();
    expect(a.some((v, i) => Math.abs(v - b[i]!) > 1e-4)).toBe(true);
  });
});
