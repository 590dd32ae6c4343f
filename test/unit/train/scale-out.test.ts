/**
 * The scale-out folder (src/train/scale-out/): every field of the run settings schema is mapped or marked; the
 * settings in train.py and axolotl.yaml, read back by Python / as YAML, equal the run's for each preset and a custom
 * run; `python3 -m py_compile train.py` passes; train.jsonl / valid.jsonl re-import to the same records, split and
 * training examples (system prompt added, system turn folded, over-long rows left out).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { importDataset } from '../../../src/data/import.ts';
import { filesFromPaths } from '../../../src/data/node-files.ts';
import { trainingExample } from '../../../src/data/tokenize.ts';
import type { ModelTokenizer } from '../../../src/data/tokenizer.ts';
import { type DatasetRecord, type ImportSettings, ImportSettingsSchema } from '../../../src/schema/dataset.ts';
import {
  LoraConfigSchema,
  OptimConfigSchema,
  PRESETS,
  type PresetName,
  type TrainConfig,
  TrainConfigSchema,
  trainConfig,
} from '../../../src/schema/train.ts';
import { scaleOutFiles } from '../../../src/train/scale-out/scale-out.ts';
import { SETTING_TABLES, type ScaleOutRun } from '../../../src/train/scale-out/settings.ts';
import { SETTINGS_BEGIN, SETTINGS_END } from '../../../src/train/scale-out/train-py.ts';
import { fixtureTokenizer, importFixture } from '../data/helpers.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'scale-out-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const text = (files: { name: string; bytes: Uint8Array }[], name: string) =>
  new TextDecoder().decode(files.find((f) => f.name === name)!.bytes);

function run(config: TrainConfig, settings: ImportSettings, layers: number | null = 24): ScaleOutRun {
  return {
    name: 'test run',
    model: { id: 'Qwen/Qwen2.5-0.5B-Instruct', revision: 'a8b602d', modelType: 'qwen2', layers },
    config,
    settings,
  };
}

/** train.py's settings dicts as Python reads them (after py_compile of the whole file). */
function pythonSettings(dir: string, script: string): Record<string, Record<string, unknown>> {
  const file = join(dir, 'train.py');
  execFileSync('python3', ['-m', 'py_compile', file]);
  const start = script.indexOf(SETTINGS_BEGIN);
  const end = script.indexOf(SETTINGS_END);
  expect(start).toBeGreaterThan(0);
  expect(end).toBeGreaterThan(start);
  const out = execFileSync(
    'python3',
    [
      '-c',
      'import json,sys; ns={}; exec(sys.stdin.read(), ns); print(json.dumps({k: ns[k] for k in ["MODEL","LORA","ARGS","SCHEDULE","DATA"]}))',
    ],
    { input: script.slice(start, end) },
  );
  return JSON.parse(out.toString()) as Record<string, Record<string, unknown>>;
}

/** axolotl.yaml's top-level `key: value` lines (values are JSON, except the fixed plain words). */
function axolotlTop(yaml: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const line of yaml.split('\n')) {
    const m = /^([a-z_0-9]+): (.+)$/.exec(line);
    if (!m) continue;
    // PyYAML (YAML 1.1) reads a number with an exponent only as 1.0e-8: a dot and a signed exponent.
    for (const n of m[2]!.match(/[0-9.]+e[-+]?[0-9]+/g) ?? []) expect(n, line).toMatch(/^[0-9]+\.[0-9]*e[-+][0-9]+$/);
    try {
      out[m[1]!] = JSON.parse(m[2]!);
    } catch {
      out[m[1]!] = m[2];
    }
  }
  return out;
}

/** The fields of a zod object (through .default() wrappers). */
function fields(schema: z.ZodType): string[] {
  let s: z.ZodType = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
  return Object.keys((s as z.ZodObject).shape);
}

describe('scale-out settings tables', () => {
  it('map or mark every field of the run settings schema, and nothing else', () => {
    const expected: Record<string, string[]> = {
      'config.lora': fields(LoraConfigSchema),
      'config.optim': fields(OptimConfigSchema),
      config: fields(TrainConfigSchema).filter((f) => f !== 'lora' && f !== 'optim'),
      import: fields(ImportSettingsSchema),
    };
    expect(fields(TrainConfigSchema)).toEqual(expect.arrayContaining(['lora', 'optim']));
    for (const { path, table } of SETTING_TABLES) {
      expect(Object.keys(table).sort(), path).toEqual([...expected[path]!].sort());
      for (const [field, m] of Object.entries(table))
        if (m.kind !== 'carried') expect(m.note.length, `${path}.${field}`).toBeGreaterThan(10);
    }
  });
});

const chatSettings = ImportSettingsSchema.parse({ mask: 'last', overLength: 'truncate' });
const CASES: { name: string; config: TrainConfig; settings: ImportSettings; layers?: number | null }[] = [
  ...(Object.keys(PRESETS) as PresetName[]).map((p) => ({
    name: p,
    config: trainConfig(p),
    settings: ImportSettingsSchema.parse({}),
  })),
  {
    name: 'custom',
    config: trainConfig(null, {
      lora: { rank: 5, alpha: 7.5, rslora: true, dropout: 0.1, targets: ['q_proj', 'down_proj'], layers: [0, 2] },
      optim: {
        lr: 3e-5,
        beta1: 0.85,
        beta2: 0.95,
        eps: 1e-6,
        weightDecay: 0.01,
        schedule: 'linear',
        warmupSteps: 7,
        minLrRatio: 0.1,
        maxGradNorm: 0.5,
      },
      microBatch: 3,
      gradAccum: 2,
      steps: 11,
      epochs: 2,
      maxLength: 300,
      base: 'q8_0',
      checkpointing: false,
      seed: 42,
      evalEvery: 0,
      evalBatches: 4,
      saveEvery: 0,
      pack: true,
    }),
    settings: chatSettings,
  },
  { name: 'top layers, layer count unknown', config: trainConfig('asp-coder'), settings: chatSettings, layers: null },
];

describe('scale-out folder', () => {
  let records: DatasetRecord[];
  let tok: ModelTokenizer;
  beforeAll(async () => {
    tok = fixtureTokenizer('chatml');
    records = (await importFixture('chatml_presplit', {}, { tokenizer: tok })).records;
  });

  it.each(CASES)('carries every setting of $name into train.py and axolotl.yaml', async (c) => {
    const r = run(c.config, c.settings, c.layers === undefined ? 24 : c.layers);
    const { files } = scaleOutFiles({ run: r, records, tokenizer: tok });
    const dir = await mkdtemp(join(root, 'case-'));
    const script = text(files, 'train.py');
    await writeFile(join(dir, 'train.py'), script);
    const py = pythonSettings(dir, script);
    const { lora, optim } = c.config;
    const top = typeof lora.layers === 'object' && !Array.isArray(lora.layers) ? lora.layers.top : 0;
    const layers =
      lora.layers === 'all'
        ? null
        : Array.isArray(lora.layers)
          ? lora.layers
          : r.model.layers === null
            ? { top }
            : Array.from({ length: top }, (_, i) => 24 - top + i);
    expect(py.MODEL).toEqual({
      id: 'Qwen/Qwen2.5-0.5B-Instruct',
      revision: 'a8b602d',
      quantization: {
        nf4: { load_in_4bit: true, bnb_4bit_quant_type: 'nf4' },
        q4_0: { load_in_4bit: true, bnb_4bit_quant_type: 'fp4' },
        q8_0: { load_in_8bit: true },
        none: null,
      }[c.config.base],
    });
    expect(py.LORA).toEqual({
      r: lora.rank,
      lora_alpha: lora.alpha,
      use_rslora: lora.rslora,
      lora_dropout: lora.dropout,
      target_modules: lora.targets,
      layers_to_transform: layers,
    });
    expect(py.ARGS).toEqual({
      learning_rate: optim.lr,
      adam_beta1: optim.beta1,
      adam_beta2: optim.beta2,
      adam_epsilon: optim.eps,
      weight_decay: optim.weightDecay,
      max_grad_norm: optim.maxGradNorm,
      per_device_train_batch_size: c.config.microBatch,
      per_device_eval_batch_size: c.config.microBatch,
      gradient_accumulation_steps: c.config.gradAccum,
      max_steps: c.config.steps ?? -1,
      num_train_epochs: c.config.epochs,
      gradient_checkpointing: c.config.checkpointing,
      seed: c.config.seed,
      data_seed: c.config.seed,
      eval_strategy: c.config.evalEvery > 0 ? 'steps' : 'no',
      eval_steps: c.config.evalEvery > 0 ? c.config.evalEvery : null,
      save_strategy: c.config.saveEvery > 0 ? 'steps' : 'no',
      save_steps: c.config.saveEvery > 0 ? c.config.saveEvery : null,
    });
    expect(py.SCHEDULE).toEqual({
      schedule: optim.schedule,
      warmup_steps: optim.warmupSteps,
      min_lr_ratio: optim.minLrRatio,
    });
    expect(py.DATA).toEqual({
      max_length: c.config.maxLength,
      eval_examples: c.config.evalBatches > 0 ? c.config.evalBatches * c.config.microBatch : null,
      pack: c.config.pack,
      over_length: c.settings.overLength,
      mask: c.settings.mask,
    });

    const ax = axolotlTop(text(files, 'axolotl.yaml'));
    expect(ax).toMatchObject({
      base_model: 'Qwen/Qwen2.5-0.5B-Instruct',
      revision_of_model: 'a8b602d',
      lora_r: lora.rank,
      lora_alpha: lora.alpha,
      peft_use_rslora: lora.rslora,
      lora_dropout: lora.dropout,
      lora_target_modules: lora.targets,
      learning_rate: optim.lr,
      adam_beta1: optim.beta1,
      adam_beta2: optim.beta2,
      adam_epsilon: optim.eps,
      weight_decay: optim.weightDecay,
      warmup_steps: optim.warmupSteps,
      max_grad_norm: optim.maxGradNorm,
      micro_batch_size: c.config.microBatch,
      gradient_accumulation_steps: c.config.gradAccum,
      num_epochs: c.config.epochs,
      sequence_len: c.config.maxLength,
      gradient_checkpointing: c.config.checkpointing,
      seed: c.config.seed,
      sample_packing: c.config.pack,
      adapter: c.config.base === 'nf4' || c.config.base === 'q4_0' ? 'qlora' : 'lora',
    });
    expect(ax.peft_layers_to_transform ?? null).toEqual(Array.isArray(layers) ? layers : null);
    expect(ax.max_steps).toBe(c.config.steps);
    expect(ax.eval_steps).toBe(c.config.evalEvery > 0 ? c.config.evalEvery : undefined);

    const facts = JSON.parse(text(files, 'lora-studio-run.json')) as { config: unknown; import: ImportSettings };
    expect(facts.config).toEqual(c.config);
    expect(facts.import).toEqual({ ...c.settings, maxLength: c.config.maxLength });
    const readme = text(files, 'README.md');
    for (const { path, table } of SETTING_TABLES)
      for (const f of Object.keys(table)) expect(readme).toContain(`\`${path}.${f}\``);
    expect(readme).toContain('pip install -r requirements.txt');
    expect(readme).toContain('accelerate launch --config_file accelerate_config.yaml');
    expect(text(files, 'accelerate_config.yaml')).toContain('distributed_type: MULTI_GPU');
    expect(text(files, 'requirements.txt').includes('bitsandbytes')).toBe(c.config.base !== 'none');
  });

  it("fuses Phi-3's targets as PEFT names them", () => {
    const r = run(trainConfig(null), ImportSettingsSchema.parse({}));
    r.model.modelType = 'phi3';
    const script = text(scaleOutFiles({ run: r, records, tokenizer: tok }).files, 'train.py');
    expect(script).toContain('"target_modules": ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"]');
  });
});

/** The files written into a folder and imported back (pre-split by their names; no system prompt added). */
async function reimport(files: { name: string; bytes: Uint8Array }[], tok: ModelTokenizer | null) {
  const dir = await mkdtemp(join(root, 'data-'));
  for (const name of ['train.jsonl', 'valid.jsonl']) await writeFile(join(dir, name), text(files, name));
  return importDataset(await filesFromPaths([dir]), { systemPrompt: '', dedupe: false }, { tokenizer: tok });
}

const strip = (r: DatasetRecord) =>
  r.kind === 'chat'
    ? { kind: r.kind, split: r.split, messages: r.messages }
    : { kind: r.kind, split: r.split, text: r.text };

describe('scale-out data files', () => {
  it.each([
    { name: 'chat (pre-split)', folder: 'chatml_presplit', template: 'chatml' as const, settings: {} },
    {
      name: 'problem folders with the ASP system prompt',
      folder: 'asp_benchmark',
      template: 'chatml' as const,
      settings: {},
    },
    { name: 'system turn folded (Gemma)', folder: 'asp_benchmark', template: 'gemma' as const, settings: {} },
    { name: 'raw text windows', folder: 'chapters', template: 'llama3' as const, settings: { maxLength: 64 } },
    // imported with the default 2048 tokens, trained with the median length: the longer half is left out
    { name: 'too long rows dropped', folder: 'personas', template: 'chatml' as const, settings: {}, median: true },
  ])('re-import to the same records, split and examples: $name', async (c) => {
    const tok = fixtureTokenizer(c.template);
    let config = trainConfig(null, { maxLength: c.settings.maxLength ?? 2048, seed: 3 });
    const imported = await importFixture(
      c.folder,
      { maxLength: config.maxLength, seed: config.seed },
      { tokenizer: tok },
    );
    if ('median' in c) config = { ...config, maxLength: imported.tokens!.p50 };
    const settings = ImportSettingsSchema.parse(imported.settings);
    // The session encodes with the dataset's settings and the config's maximum length.
    const trained = { ...settings, maxLength: config.maxLength };
    const { files, counts } = scaleOutFiles({ run: run(config, settings), records: imported.records, tokenizer: tok });
    // What the run trains and evaluates on: the examples of its train and valid splits.
    // (the files list the train split first, then valid, each in the run's order).
    const used = ['train', 'valid'].flatMap((split) =>
      imported.records.filter((r) => r.split === split && trainingExample(tok, r, trained) !== null),
    );
    expect(counts.train + counts.valid).toBe(used.length);
    expect(counts.leftOut).toBe(imported.records.filter((r) => r.split !== 'test').length - used.length);
    if (c.name.startsWith('too long')) expect(counts.leftOut).toBeGreaterThan(0);
    const back = await reimport(files, tok);
    expect(back.problems).toEqual([]);
    const folded = used.map((r) =>
      r.kind === 'chat' ? { ...r, messages: tok.renderChatFolded(r.messages).messages } : r,
    );
    if (c.template === 'gemma') {
      expect(counts.folded).toBe(used.length);
      expect(used.every((r) => r.kind === 'chat' && r.messages[0]!.role === 'system')).toBe(true);
    }
    expect(back.records.map(strip)).toEqual(folded.map(strip));
    // The re-imported rows make exactly the run's training examples.
    const ex = (r: DatasetRecord) => {
      const e = trainingExample(tok, r, trained)!;
      return { ids: e.ids, mask: Array.from(e.mask) };
    };
    expect(back.records.map(ex)).toEqual(used.map(ex));
  });
});
