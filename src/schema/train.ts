/**
 * The training configuration, shared by the UI, the CLI and the worker: the single home of its defaults and of the
 * presets drawn from the pipelines people run today.
 */
import { z } from 'zod';
import { LORA_TARGETS } from '../model/allocations.ts';

export const LoraConfigSchema = z.object({
  rank: z.number().int().min(1).max(512).default(8),
  alpha: z.number().positive().default(16),
  /** scaling alpha/√rank instead of alpha/rank */
  rslora: z.boolean().default(false),
  dropout: z.number().min(0).max(0.9).default(0),
  targets: z.array(z.enum(LORA_TARGETS)).min(1).default([...LORA_TARGETS]),
  /** every layer, the top N (lower layers untouched), or a list of layer indices */
  layers: z.union([z.literal('all'), z.object({ top: z.number().int().positive() }), z.array(z.number().int().nonnegative()).min(1)]).default('all'),
});

export const OptimConfigSchema = z.object({
  lr: z.number().positive().default(2e-4),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.999),
  eps: z.number().positive().default(1e-8),
  weightDecay: z.number().min(0).default(0),
  schedule: z.enum(['cosine', 'linear', 'constant']).default('cosine'),
  warmupSteps: z.number().int().min(0).default(0),
  /** the schedule never goes below lr · minLrRatio */
  minLrRatio: z.number().min(0).max(1).default(0),
  /** clip the global gradient norm to this (0: no clipping) */
  maxGradNorm: z.number().min(0).default(1),
});

export const TrainConfigSchema = z.object({
  lora: LoraConfigSchema.default(LoraConfigSchema.parse({})),
  optim: OptimConfigSchema.default(OptimConfigSchema.parse({})),
  microBatch: z.number().int().min(1).default(1),
  gradAccum: z.number().int().min(1).default(1),
  /** optimizer steps; when absent, `epochs` passes over the training split */
  steps: z.number().int().positive().optional(),
  epochs: z.number().positive().default(1),
  maxLength: z.number().int().min(8).default(2048),
  base: z.enum(['none', 'q8_0', 'q4_0', 'nf4']).default('nf4'),
  checkpointing: z.boolean().default(true),
  seed: z.number().int().min(0).default(0),
  evalEvery: z.number().int().min(0).default(0),
  saveEvery: z.number().int().min(0).default(0),
});

export type TrainConfig = z.infer<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

/** Presets with the values of the pipelines they come from. */
export const PRESETS = {
  /** ASP coder: rank 16, alpha 160, dropout 0.05, top 16 layers, cosine, micro-batch 1 × accumulation 4. */
  'asp-coder': { lora: { rank: 16, alpha: 160, dropout: 0.05, layers: { top: 16 } }, optim: { schedule: 'cosine' }, microBatch: 1, gradAccum: 4 },
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
  persona: { lora: { rank: 8, alpha: 160, dropout: 0 }, optim: { lr: 1e-5 }, steps: 500, microBatch: 2, maxLength: 2048 },
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
