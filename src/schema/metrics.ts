/**
 * The points of a training run's history — one definition for the training loop (src/train/run.ts), the session,
 * the worker, IndexedDB (src/storage/runs.ts parses stored rows with `RunMetricSchema`), the UI and the CLI.
 * In memory they are camelCase `RunMetric`s; the one file format, the CLI's metrics.jsonl (docs/formats.md), keeps
 * its snake_case names, and `toMetricsJsonl` / `fromMetricsJsonl` are the only conversions.
 */
import { z } from 'zod';

/** A measured value: any number, NaN and ±Infinity included (a diverged loss is stored as it was measured). */
export const MeasuredSchema = z.custom<number>((v) => typeof v === 'number', 'expected a number');

/** One answer to a validation prompt, sampled at an evaluation. */
export const SampleSchema = z.object({
  prompt: z.string(),
  output: z.string(),
  /** null when no validator applies. */
  valid: z.boolean().nullable(),
  error: z.string().optional(),
});
export type Sample = z.infer<typeof SampleSchema>;

/** An optimizer step. */
export const StepMetricSchema = z.object({
  kind: z.literal('step'),
  step: z.number(),
  loss: MeasuredSchema,
  lr: MeasuredSchema,
  gradNorm: MeasuredSchema,
  /** Input tokens of the step's micro-batches (each row cut to the max length, padding excluded). */
  tokens: z.number(),
  epoch: z.number(),
  /** The run's time so far (a resumed run continues from its checkpoint's). */
  elapsedMs: MeasuredSchema,
  tokensPerSec: MeasuredSchema,
});
export type StepMetric = z.infer<typeof StepMetricSchema>;

/** An evaluation: the mean loss over every trained token of the validation examples. */
export const EvalMetricSchema = z.object({
  kind: z.literal('eval'),
  step: z.number(),
  valLoss: MeasuredSchema,
  valTokens: z.number(),
});
export type EvalMetric = z.infer<typeof EvalMetricSchema>;

/** The answers to the validation prompts after an evaluation, and the share the validator accepted. */
export const SamplesMetricSchema = z.object({
  kind: z.literal('samples'),
  step: z.number(),
  samples: z.array(SampleSchema),
  validity: MeasuredSchema.nullable(),
});
export type SamplesMetric = z.infer<typeof SamplesMetricSchema>;

/** One point of a run's history, as stored and as streamed. */
export const RunMetricSchema = z.discriminatedUnion('kind', [StepMetricSchema, EvalMetricSchema, SamplesMetricSchema]);
export type RunMetric = z.infer<typeof RunMetricSchema>;

/** A measured value in JSON: null where it was not finite (JSON has no NaN or ±Infinity). */
const jsonMeasured = z.number().nullable();

/** One line of metrics.jsonl (docs/formats.md): the three kinds told apart by their keys, with snake_case names. */
export const MetricsJsonlLineSchema = z.union([
  z.strictObject({
    step: z.number(),
    loss: jsonMeasured,
    lr: jsonMeasured,
    grad_norm: jsonMeasured,
    tokens: z.number(),
    tokens_per_sec: jsonMeasured,
    epoch: z.number(),
    elapsed_ms: jsonMeasured,
  }),
  z.strictObject({ step: z.number(), val_loss: jsonMeasured, val_tokens: z.number() }),
  z.strictObject({ step: z.number(), samples: z.array(SampleSchema), validity: jsonMeasured }),
]);
export type MetricsJsonlLine = z.infer<typeof MetricsJsonlLineSchema>;

/** The metrics.jsonl line of a metric (JSON.stringify writes a non-finite value as null). */
export function toMetricsJsonl(m: RunMetric): MetricsJsonlLine {
  switch (m.kind) {
    case 'step':
      return {
        step: m.step,
        loss: m.loss,
        lr: m.lr,
        grad_norm: m.gradNorm,
        tokens: m.tokens,
        tokens_per_sec: m.tokensPerSec,
        epoch: m.epoch,
        elapsed_ms: m.elapsedMs,
      };
    case 'eval':
      return { step: m.step, val_loss: m.valLoss, val_tokens: m.valTokens };
    case 'samples':
      return { step: m.step, samples: m.samples, validity: m.validity };
  }
}

const orNaN = (v: number | null): number => v ?? NaN;

/** A parsed metrics.jsonl line back as a metric (a null measured value comes back as NaN). Throws a ZodError. */
export function fromMetricsJsonl(line: unknown): RunMetric {
  const l = MetricsJsonlLineSchema.parse(line);
  if ('loss' in l)
    return {
      kind: 'step',
      step: l.step,
      loss: orNaN(l.loss),
      lr: orNaN(l.lr),
      gradNorm: orNaN(l.grad_norm),
      tokens: l.tokens,
      epoch: l.epoch,
      elapsedMs: orNaN(l.elapsed_ms),
      tokensPerSec: orNaN(l.tokens_per_sec),
    };
  if ('val_loss' in l) return { kind: 'eval', step: l.step, valLoss: orNaN(l.val_loss), valTokens: l.val_tokens };
  return { kind: 'samples', step: l.step, samples: l.samples, validity: l.validity };
}
