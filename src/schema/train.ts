/**
 * The training configuration, shared by the UI, the CLI and the worker: the single home of its defaults and of the
 * presets drawn from the pipelines people run today.
 */
import { z } from 'zod';
import { LORA_TARGETS } from './model.ts';

export const LoraConfigSchema = z.object({
  rank: z
    .number()
    .int()
    .min(1)
    .max(512)
    .default(8)
    .meta({ title: 'Rank', description: 'Width of the low-rank update; more learns more and costs more memory.' }),
  alpha: z.number().positive().default(16).meta({
    title: 'Alpha',
    description: 'The update is scaled by alpha / rank (PEFT lora_alpha; mlx scale = alpha / rank).',
  }),
  /** scaling alpha/√rank instead of alpha/rank */
  rslora: z.boolean().default(false).meta({ title: 'rsLoRA', description: 'Scale by alpha / √rank instead.' }),
  dropout: z
    .number()
    .min(0)
    .max(0.9)
    .default(0)
    .meta({ title: 'Dropout', description: 'Dropout on the adapter inputs while training.' }),
  targets: z
    .array(z.enum(LORA_TARGETS))
    .min(1)
    .default([...LORA_TARGETS])
    .meta({ title: 'Target modules', description: 'The projections that get adapters.' }),
  /** every layer, the top N (lower layers untouched), or a list of layer indices */
  layers: z
    .union([
      z.literal('all'),
      z.object({ top: z.number().int().positive() }),
      z.array(z.number().int().nonnegative()).min(1),
    ])
    .default('all')
    .meta({
      title: 'Layers',
      description: 'All layers, the top N (lower layers stay untouched), or a list of layer numbers.',
    }),
});

export const OptimConfigSchema = z.object({
  lr: z.number().positive().default(2e-4).meta({ title: 'Learning rate' }),
  beta1: z.number().min(0).lt(1).default(0.9).meta({ title: 'β1' }),
  beta2: z.number().min(0).lt(1).default(0.999).meta({ title: 'β2' }),
  eps: z.number().positive().default(1e-8).meta({ title: 'ε' }),
  weightDecay: z.number().min(0).default(0).meta({ title: 'Weight decay', description: 'Decoupled (AdamW).' }),
  schedule: z
    .enum(['cosine', 'linear', 'constant'])
    .default('cosine')
    .meta({ title: 'Schedule', description: 'After the warm-up.' }),
  warmupSteps: z.number().int().min(0).default(0).meta({ title: 'Warm-up steps' }),
  /** the schedule never goes below lr · minLrRatio */
  minLrRatio: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .meta({ title: 'Floor', description: 'The learning rate never goes below lr × this.' }),
  /** clip the global gradient norm to this (0: no clipping) */
  maxGradNorm: z
    .number()
    .min(0)
    .default(1)
    .meta({ title: 'Max gradient norm', description: 'Clip the global gradient norm (0: no clipping).' }),
});

export const TrainConfigSchema = z.object({
  lora: LoraConfigSchema.default(LoraConfigSchema.parse({})).meta({ title: 'LoRA' }),
  optim: OptimConfigSchema.default(OptimConfigSchema.parse({})).meta({ title: 'Optimizer (AdamW)' }),
  microBatch: z
    .number()
    .int()
    .min(1)
    .default(1)
    .meta({ title: 'Micro-batch', description: 'Examples per forward/backward pass.' }),
  gradAccum: z
    .number()
    .int()
    .min(1)
    .default(1)
    .meta({ title: 'Gradient accumulation', description: 'Micro-batches per optimizer step.' }),
  /** optimizer steps; when absent, `epochs` passes over the training split */
  steps: z
    .number()
    .int()
    .positive()
    .optional()
    .meta({ title: 'Steps', description: 'Optimizer steps; leave empty to train for the epochs below.' }),
  epochs: z.number().positive().default(1).meta({ title: 'Epochs' }),
  maxLength: z.number().int().min(8).default(2048).meta({
    title: 'Max length',
    description: "Tokens per example; longer ones follow the dataset's over-length setting.",
  }),
  base: z
    .enum(['none', 'q8_0', 'q4_0', 'nf4'])
    .default('nf4')
    .meta({ title: 'Base precision', description: 'none keeps the stored weights; nf4 is QLoRA.' }),
  checkpointing: z
    .boolean()
    .default(true)
    .meta({ title: 'Gradient checkpointing', description: 'Recompute activations: less memory, a little slower.' }),
  seed: z.number().int().min(0).default(0).meta({ title: 'Seed' }),
  /** evaluate every N steps and at the end (0: never) */
  evalEvery: z
    .number()
    .int()
    .min(0)
    .default(50)
    .meta({ title: 'Evaluate every', description: 'Steps between validation losses (and at the end; 0: never).' }),
  /** validation batches per evaluation (0: the whole validation split) */
  evalBatches: z
    .number()
    .int()
    .min(0)
    .default(0)
    .meta({ title: 'Validation batches', description: '0: the whole validation split.' }),
  /** checkpoint every N steps; a checkpoint is also saved at each evaluation, on pause, on stop and at the end */
  saveEvery: z.number().int().min(0).default(100).meta({
    title: 'Checkpoint every',
    description: 'Steps between checkpoints (also saved at each evaluation, on pause, on stop and at the end).',
  }),
  /** pack several short examples into each row of maxLength tokens (attention and targets never cross examples) */
  pack: z.boolean().default(false).meta({
    title: 'Pack examples',
    description: 'Put several short examples in one row: fewer padded tokens, the same trained tokens.',
  }),
});

export type TrainConfig = z.infer<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

/** Presets with the values of the pipelines they come from. */
export const PRESETS = {
  /** ASP coder: rank 16, alpha 160, dropout 0.05, top 16 layers, cosine, micro-batch 1 × accumulation 4. */
  'asp-coder': {
    lora: { rank: 16, alpha: 160, dropout: 0.05, layers: { top: 16 } },
    optim: { schedule: 'cosine' },
    microBatch: 1,
    gradAccum: 4,
  },
  /** DOT QLoRA: rank 16, alpha 32, q/k/v/o, lr 2e-4, 5 epochs, micro-batch 4 × accumulation 4, 4-bit base. */
  'dot-qlora': {
    lora: { rank: 16, alpha: 32, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] },
    optim: { lr: 2e-4 },
    epochs: 5,
    microBatch: 4,
    gradAccum: 4,
    base: 'nf4',
  },
  /** Persona adapter (mlx-lm defaults): rank 8, scale 20 (alpha 160), dropout 0, lr 1e-5, 500 iterations, batch 2, max length 2048. */
  persona: {
    lora: { rank: 8, alpha: 160, dropout: 0 },
    optim: { lr: 1e-5 },
    steps: 500,
    microBatch: 2,
    maxLength: 2048,
  },
  /** Raw-text style: short windows. */
  'raw-text': { maxLength: 512 },
} satisfies Record<string, TrainConfigInput>;

export type PresetName = keyof typeof PRESETS;

/** A preset with overrides on top, validated; nested groups merge field by field. */
export function trainConfig(preset: PresetName | null, overrides: TrainConfigInput = {}): TrainConfig {
  const base = (preset ? PRESETS[preset] : {}) as TrainConfigInput;
  return TrainConfigSchema.parse({
    ...base,
    ...overrides,
    lora: { ...(base.lora ?? {}), ...(overrides.lora ?? {}) },
    optim: { ...(base.optim ?? {}), ...(overrides.optim ?? {}) },
  });
}
