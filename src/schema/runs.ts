/**
 * Training runs as the worker, the CLI session, IndexedDB and the UI share them: a run's request and description and
 * its status; the points of its history are in ./metrics.ts. Rows read back from IndexedDB are parsed with these
 * schemas (src/storage/runs.ts), so a row that does not have this shape is found where it is read.
 */
import { z } from 'zod';
import { EngineErrorSchema } from './errors.ts';
import { MeasuredSchema as measured } from './metrics.ts';
import { PRESETS, type PresetName, type TrainConfigInput, TrainConfigSchema } from './train.ts';

/** The validators of generated code (src/validate/): clingo, Graphviz, JSON Schema, SQLite. */
export const VALIDATOR_KINDS = ['asp', 'dot', 'json', 'sql'] as const;
export const ValidatorKindSchema = z.enum(VALIDATOR_KINDS);
export type ValidatorKind = z.infer<typeof ValidatorKindSchema>;

/** A model in the browser's cache: downloaded from the Hub, or a local folder copied in (repo `local/<name>`). */
export const ModelRefSchema = z.object({ repo: z.string(), revision: z.string() });
export type ModelRef = z.infer<typeof ModelRefSchema>;

const PRESET_NAMES = Object.keys(PRESETS) as [PresetName, ...PresetName[]];

export const TrainRequestSchema = z.object({
  model: ModelRefSchema,
  datasetId: z.string(),
  preset: z.enum(PRESET_NAMES).nullable(),
  /** Overrides on top of the preset (the form's values), kept as given: defaults are applied when the run starts. */
  config: z.custom<TrainConfigInput>((v) => typeof v === 'object' && v !== null && !Array.isArray(v)),
  /** Validation prompts answered at each evaluation (0: none). */
  samples: z.number(),
  /** Checks the sampled answers, when the data has a language with a validator. */
  validator: ValidatorKindSchema.nullable(),
  name: z.string().optional(),
  /** Start from the adapter of this run (its latest checkpoint; e.g. an imported PEFT adapter) instead of a fresh one. */
  startFrom: z.string().optional(),
});
export type TrainRequest = z.infer<typeof TrainRequestSchema>;

export const RunStatusSchema = z.enum(['running', 'paused', 'stopped', 'done', 'failed', 'interrupted']);
export type RunStatus = z.infer<typeof RunStatusSchema>;

export const RunInfoSchema = z.object({
  id: z.string(),
  name: z.string(),
  model: ModelRefSchema,
  datasetId: z.string(),
  datasetName: z.string(),
  request: TrainRequestSchema,
  /** The resolved configuration (preset + overrides + defaults). */
  config: TrainConfigSchema,
  status: RunStatusSchema,
  createdAt: z.string(),
  updatedAt: z.string(),
  step: z.number(),
  totalSteps: z.number(),
  trainExamples: z.number(),
  validExamples: z.number(),
  lastLoss: measured.nullable(),
  lastValLoss: measured.nullable(),
  bestValLoss: measured.nullable(),
  bestStep: z.number().nullable(),
  /** The last error, when status is 'failed' (or a stop was forced by it). */
  error: EngineErrorSchema.nullable(),
});
export type RunInfo = z.infer<typeof RunInfoSchema>;

/** A new run's progress fields: no step taken, no loss seen (shared by every place that creates a run). */
export function newRunProgress(): Pick<
  RunInfo,
  | 'step'
  | 'totalSteps'
  | 'trainExamples'
  | 'validExamples'
  | 'lastLoss'
  | 'lastValLoss'
  | 'bestValLoss'
  | 'bestStep'
  | 'error'
> {
  return {
    step: 0,
    totalSteps: 0,
    trainExamples: 0,
    validExamples: 0,
    lastLoss: null,
    lastValLoss: null,
    bestValLoss: null,
    bestStep: null,
    error: null,
  };
}

export const GpuMemoryNowSchema = z.object({ liveBytes: z.number(), peakBytes: z.number() });
export type GpuMemoryNow = z.infer<typeof GpuMemoryNowSchema>;
