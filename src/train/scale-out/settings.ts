/**
 * Where each setting of a run goes in the scale-out folder: one entry per field of the run settings schema
 * (`TrainConfigSchema` with its `lora` and `optim` groups, and the dataset's `ImportSettingsSchema`). An entry either
 * carries the setting (its train.py keys — transformers / PEFT / TRL names — and its axolotl.yaml keys), says the
 * dataset files carry it, or says why it does not apply. The tables are typed against the schema's fields, and
 * test/unit/train/scale-out.test.ts walks the zod shapes, so a new setting cannot be forgotten silently.
 */
import type { ImportSettings } from '../../schema/dataset.ts';
import type { TrainConfig } from '../../schema/train.ts';
import type { PyValue } from './python.ts';

/** The run being handed over. */
export interface ScaleOutRun {
  name: string;
  model: {
    /** Hub repository id (or a path the scripts can load). */
    id: string;
    revision: string | null;
    /** config.json's model_type when known (phi3 fuses q/k/v and gate/up). */
    modelType: string | null;
    /** The model's layer count when known (axolotl needs the top-N layers as a list). */
    layers: number | null;
  };
  config: TrainConfig;
  /** The dataset's import settings as the run used them (the run's maxLength is the config's). */
  settings: ImportSettings;
}

/** train.py's settings groups: PEFT LoraConfig, TrainingArguments / SFTConfig, the schedule, data and model. */
export type PyGroup = 'MODEL' | 'LORA' | 'ARGS' | 'SCHEDULE' | 'DATA';
export type PySettings = Record<PyGroup, Record<string, PyValue>>;
type PyPart = Partial<Record<PyGroup, Record<string, PyValue>>>;

export type SettingMapping =
  | {
      kind: 'carried';
      py: (r: ScaleOutRun) => PyPart;
      /** axolotl.yaml keys; an empty object when axolotl has no equivalent (say so in `note`). */
      axolotl: (r: ScaleOutRun) => Record<string, PyValue>;
      note?: string;
    }
  | { kind: 'data-files'; note: string }
  | { kind: 'not-applicable'; note: string };

type Table<T> = { [K in keyof T]-?: SettingMapping };
type Ax = Record<string, PyValue>;
/** No axolotl key. */
const none: Ax = {};

const carried = (
  py: (r: ScaleOutRun) => PyPart,
  axolotl: (r: ScaleOutRun) => Record<string, PyValue>,
  note?: string,
): SettingMapping => ({ kind: 'carried', py, axolotl, ...(note ? { note } : {}) });

/** PEFT names of the app's target modules: Phi-3 fuses q/k/v into qkv_proj and gate/up into gate_up_proj. */
export function peftTargets(r: ScaleOutRun): string[] {
  const t = r.config.lora.targets;
  if (r.model.modelType !== 'phi3') return [...t];
  const fused: Record<string, string> = {
    q_proj: 'qkv_proj',
    k_proj: 'qkv_proj',
    v_proj: 'qkv_proj',
    gate_proj: 'gate_up_proj',
    up_proj: 'gate_up_proj',
  };
  return [...new Set(t.map((x) => fused[x] ?? x))];
}

/** The layer list for PEFT's layers_to_transform: null for every layer; {top: N} is resolved by train.py. */
function layersValue(r: ScaleOutRun): PyValue {
  const l = r.config.lora.layers;
  if (l === 'all') return null;
  if (Array.isArray(l)) return [...l];
  if (r.model.layers !== null) {
    const top = Math.min(r.model.layers, l.top);
    return Array.from({ length: top }, (_, i) => r.model.layers! - top + i);
  }
  return { top: l.top };
}

export const LORA_SETTINGS: Table<TrainConfig['lora']> = {
  rank: carried(
    (r) => ({ LORA: { r: r.config.lora.rank } }),
    (r) => ({ lora_r: r.config.lora.rank }),
  ),
  alpha: carried(
    (r) => ({ LORA: { lora_alpha: r.config.lora.alpha } }),
    (r) => ({ lora_alpha: r.config.lora.alpha }),
  ),
  rslora: carried(
    (r) => ({ LORA: { use_rslora: r.config.lora.rslora } }),
    (r) => ({ peft_use_rslora: r.config.lora.rslora }),
  ),
  dropout: carried(
    (r) => ({ LORA: { lora_dropout: r.config.lora.dropout } }),
    (r) => ({ lora_dropout: r.config.lora.dropout }),
  ),
  targets: carried(
    (r) => ({ LORA: { target_modules: peftTargets(r) } }),
    (r) => ({ lora_target_modules: peftTargets(r) }),
  ),
  layers: carried(
    (r) => ({ LORA: { layers_to_transform: layersValue(r) } }),
    (r) => {
      const v = layersValue(r);
      return Array.isArray(v) ? { peft_layers_to_transform: v } : none;
    },
    'every layer: no layers_to_transform; the top N layers: the list (train.py computes it from the model when the layer count was not known)',
  ),
};

export const OPTIM_SETTINGS: Table<TrainConfig['optim']> = {
  lr: carried(
    (r) => ({ ARGS: { learning_rate: r.config.optim.lr } }),
    (r) => ({ learning_rate: r.config.optim.lr }),
  ),
  beta1: carried(
    (r) => ({ ARGS: { adam_beta1: r.config.optim.beta1 } }),
    (r) => ({ adam_beta1: r.config.optim.beta1 }),
  ),
  beta2: carried(
    (r) => ({ ARGS: { adam_beta2: r.config.optim.beta2 } }),
    (r) => ({ adam_beta2: r.config.optim.beta2 }),
  ),
  eps: carried(
    (r) => ({ ARGS: { adam_epsilon: r.config.optim.eps } }),
    (r) => ({ adam_epsilon: r.config.optim.eps }),
  ),
  weightDecay: carried(
    (r) => ({ ARGS: { weight_decay: r.config.optim.weightDecay } }),
    (r) => ({ weight_decay: r.config.optim.weightDecay }),
  ),
  schedule: carried(
    (r) => ({ SCHEDULE: { schedule: r.config.optim.schedule } }),
    (r) => {
      const o = r.config.optim;
      return { lr_scheduler: o.schedule === 'constant' && o.warmupSteps > 0 ? 'constant_with_warmup' : o.schedule };
    },
    "train.py runs the app's own schedule (src/train/schedule.ts) as a LambdaLR; axolotl uses transformers' of the same name",
  ),
  warmupSteps: carried(
    (r) => ({ SCHEDULE: { warmup_steps: r.config.optim.warmupSteps } }),
    (r) => ({ warmup_steps: r.config.optim.warmupSteps }),
  ),
  minLrRatio: carried(
    (r) => ({ SCHEDULE: { min_lr_ratio: r.config.optim.minLrRatio } }),
    (r) =>
      r.config.optim.schedule === 'cosine' && r.config.optim.minLrRatio > 0
        ? { cosine_min_lr_ratio: r.config.optim.minLrRatio }
        : none,
    'axolotl has a floor for the cosine schedule only',
  ),
  maxGradNorm: carried(
    (r) => ({ ARGS: { max_grad_norm: r.config.optim.maxGradNorm } }),
    (r) => ({ max_grad_norm: r.config.optim.maxGradNorm }),
  ),
};

/** bitsandbytes settings of the base precision (None: the stored 16/32-bit weights). */
function quantization(base: TrainConfig['base']): PyValue {
  switch (base) {
    case 'nf4':
      return { load_in_4bit: true, bnb_4bit_quant_type: 'nf4' };
    case 'q4_0':
      return { load_in_4bit: true, bnb_4bit_quant_type: 'fp4' };
    case 'q8_0':
      return { load_in_8bit: true };
    case 'none':
      return null;
  }
}

export const TRAIN_SETTINGS: Table<Omit<TrainConfig, 'lora' | 'optim'>> = {
  microBatch: carried(
    (r) => ({
      ARGS: { per_device_train_batch_size: r.config.microBatch, per_device_eval_batch_size: r.config.microBatch },
    }),
    (r) => ({ micro_batch_size: r.config.microBatch }),
  ),
  gradAccum: carried(
    (r) => ({ ARGS: { gradient_accumulation_steps: r.config.gradAccum } }),
    (r) => ({ gradient_accumulation_steps: r.config.gradAccum }),
  ),
  steps: carried(
    (r) => ({ ARGS: { max_steps: r.config.steps ?? -1 } }),
    (r) => (r.config.steps ? { max_steps: r.config.steps } : none),
  ),
  epochs: carried(
    (r) => ({ ARGS: { num_train_epochs: r.config.epochs } }),
    (r) => ({ num_epochs: r.config.epochs }),
  ),
  maxLength: carried(
    (r) => ({ DATA: { max_length: r.config.maxLength } }),
    (r) => ({ sequence_len: r.config.maxLength }),
  ),
  base: carried(
    (r) => ({ MODEL: { quantization: quantization(r.config.base) } }),
    (r): Ax => {
      const b = r.config.base;
      if (b === 'nf4' || b === 'q4_0') return { adapter: 'qlora', load_in_4bit: true };
      if (b === 'q8_0') return { adapter: 'lora', load_in_8bit: true };
      return { adapter: 'lora' };
    },
    'nf4 → bitsandbytes NF4 (QLoRA); q4_0 → bitsandbytes FP4 (axolotl: NF4); q8_0 → bitsandbytes LLM.int8; none → bf16 weights',
  ),
  checkpointing: carried(
    (r) => ({ ARGS: { gradient_checkpointing: r.config.checkpointing } }),
    (r) => ({ gradient_checkpointing: r.config.checkpointing }),
  ),
  seed: carried(
    (r) => ({ ARGS: { seed: r.config.seed, data_seed: r.config.seed } }),
    (r) => ({ seed: r.config.seed }),
    "the same seed; torch's shuffling and initialisation are not the app's, so the data order and A's initial values differ (pass --init-adapter for the same start)",
  ),
  evalEvery: carried(
    (r) => ({
      ARGS: {
        eval_strategy: r.config.evalEvery > 0 ? 'steps' : 'no',
        eval_steps: r.config.evalEvery > 0 ? r.config.evalEvery : null,
      },
    }),
    (r) => (r.config.evalEvery > 0 ? { eval_steps: r.config.evalEvery } : none),
    'and once more at the end, as the app does',
  ),
  evalBatches: carried(
    (r) => ({ DATA: { eval_examples: r.config.evalBatches > 0 ? r.config.evalBatches * r.config.microBatch : null } }),
    () => none,
    'the first evalBatches × microBatch validation rows (None: all); axolotl evaluates the whole validation file',
  ),
  saveEvery: carried(
    (r) => ({
      ARGS: {
        save_strategy: r.config.saveEvery > 0 ? 'steps' : 'no',
        save_steps: r.config.saveEvery > 0 ? r.config.saveEvery : null,
      },
    }),
    (r) => (r.config.saveEvery > 0 ? { save_steps: r.config.saveEvery } : none),
  ),
  pack: carried(
    (r) => ({ DATA: { pack: r.config.pack } }),
    (r) => ({ sample_packing: r.config.pack }),
    'train.py trains one example per row either way (the same tokens and masks; packed runs take fewer, fuller steps); axolotl packs',
  ),
};

const fromFiles = (note: string): SettingMapping => ({ kind: 'data-files', note });

export const IMPORT_SETTINGS: Table<ImportSettings> = {
  trainFraction: fromFiles('the split is the files: train.jsonl and valid.jsonl hold the rows of each split'),
  testFraction: fromFiles('the test split is not part of training: it is not written'),
  seed: fromFiles('the split it drew is the files'),
  maxLength: {
    kind: 'not-applicable',
    note: "the run's maximum length is the config's maxLength (DATA.max_length), which replaces the import's",
  },
  overLength: carried(
    (r) => ({ DATA: { over_length: r.settings.overLength } }),
    () => none,
    'rows the run dropped as too long are left out of the files; train.py truncates or drops the same way; axolotl drops rows longer than sequence_len',
  ),
  mask: carried(
    (r) => ({ DATA: { mask: r.settings.mask } }),
    (r) => {
      const m = r.settings.mask;
      if (m === 'all') return { roles_to_train: ['system', 'user', 'assistant'], train_on_eos: 'all' };
      return { roles_to_train: ['assistant'], train_on_eos: m === 'last' ? 'last' : 'turn' };
    },
    "answers: every assistant turn with its end-of-turn token; last: the last one; all: every token (axolotl's roles_to_train / train_on_eos; 'last' trains every assistant turn's text there)",
  ),
  systemPrompt: fromFiles('the system prompt the import added is in the rows'),
  format: fromFiles('the rows were converted to messages (or text) at import'),
  mapping: fromFiles('the rows were converted to messages at import'),
  mappings: fromFiles('the rows were converted to messages at import'),
  dedupe: fromFiles('duplicates were removed at import'),
};

/** Every table, with the schema path of its fields. */
export const SETTING_TABLES = [
  { path: 'config.lora', table: LORA_SETTINGS as Record<string, SettingMapping> },
  { path: 'config.optim', table: OPTIM_SETTINGS as Record<string, SettingMapping> },
  { path: 'config', table: TRAIN_SETTINGS as Record<string, SettingMapping> },
  { path: 'import', table: IMPORT_SETTINGS as Record<string, SettingMapping> },
] as const;

/** train.py's settings groups, each key in the order of the tables. */
export function pySettings(r: ScaleOutRun): PySettings {
  const out: PySettings = {
    MODEL: { id: r.model.id, revision: r.model.revision },
    LORA: {},
    ARGS: {},
    SCHEDULE: {},
    DATA: {},
  };
  for (const { table } of SETTING_TABLES)
    for (const m of Object.values(table))
      if (m.kind === 'carried')
        for (const [g, values] of Object.entries(m.py(r))) Object.assign(out[g as PyGroup], values);
  return out;
}

/** axolotl.yaml's top-level settings (datasets and fixed keys are added by configs.ts). */
export function axolotlSettings(r: ScaleOutRun): Record<string, PyValue> {
  const out: Record<string, PyValue> = {};
  for (const { table } of SETTING_TABLES)
    for (const m of Object.values(table)) if (m.kind === 'carried') Object.assign(out, m.axolotl(r));
  return out;
}
