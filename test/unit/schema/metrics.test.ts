/**
 * The one definition of a run's metrics (src/schema/metrics.ts): every kind survives the trip through a
 * metrics.jsonl line (docs/formats.md) and back, non-finite values come back as NaN, and each side refuses the
 * other side's names.
 */
import { describe, expect, it } from 'vitest';
import {
  type EvalMetric,
  fromMetricsJsonl,
  MetricsJsonlLineSchema,
  type RunMetric,
  RunMetricSchema,
  toMetricsJsonl,
} from '../../../src/schema/metrics.ts';
import { seededRng } from '../../harness/rng.ts';

const viaFile = (m: RunMetric): RunMetric => fromMetricsJsonl(JSON.parse(JSON.stringify(toMetricsJsonl(m))));

describe('metrics.jsonl lines', () => {
  it('round-trip every kind of metric', () => {
    const rng = seededRng('metrics jsonl');
    const step = rng.int(1, 1000);
    const evaluation: EvalMetric = { kind: 'eval', step, valLoss: rng.next() * 4, valTokens: rng.int(1, 5000) };
    const metrics: RunMetric[] = [
      {
        kind: 'step',
        step,
        loss: rng.next() * 4,
        lr: rng.next() * 1e-3,
        gradNorm: rng.next() * 10,
        tokens: rng.int(1, 5000),
        epoch: rng.next() * 3,
        elapsedMs: rng.int(0, 1e6),
        tokensPerSec: rng.next() * 1e4,
      },
      evaluation,
      {
        kind: 'samples',
        step,
        samples: [
          { prompt: 'p', output: 'o', valid: true },
          { prompt: 'q', output: 'x', valid: false, error: 'syntax error' },
          { prompt: 'r', output: 'y', valid: null },
        ],
        validity: 0.5,
      },
      { kind: 'samples', step, samples: [], validity: null },
    ];
    for (const m of metrics) {
      expect(RunMetricSchema.parse(m)).toEqual(m);
      expect(MetricsJsonlLineSchema.safeParse(toMetricsJsonl(m)).success, m.kind).toBe(true);
      expect(viaFile(m)).toEqual(m);
    }
    expect(Object.keys(toMetricsJsonl(metrics[0]!))).toEqual([
      'step',
      'loss',
      'lr',
      'grad_norm',
      'tokens',
      'tokens_per_sec',
      'epoch',
      'elapsed_ms',
    ]);
    expect(toMetricsJsonl(evaluation)).toEqual({
      step,
      val_loss: evaluation.valLoss,
      val_tokens: evaluation.valTokens,
    });
  });

  it('write a non-finite value as null and read it back as NaN', () => {
    const m: EvalMetric = { kind: 'eval', step: 3, valLoss: Infinity, valTokens: 10 };
    expect(JSON.stringify(toMetricsJsonl(m))).toBe('{"step":3,"val_loss":null,"val_tokens":10}');
    expect(viaFile(m)).toEqual({ ...m, valLoss: NaN });
    expect(viaFile({ ...m, valLoss: NaN })).toEqual({ ...m, valLoss: NaN });
  });

  it("refuse the other side's names", () => {
    expect(() => fromMetricsJsonl({ step: 3, valLoss: 1, valTokens: 10 })).toThrow();
    expect(() => fromMetricsJsonl({ step: 3, val_loss: 1, val_tokens: 10, extra: 1 })).toThrow();
    expect(() => fromMetricsJsonl({ step: 3, val_loss: '1', val_tokens: 10 })).toThrow();
    expect(RunMetricSchema.safeParse({ kind: 'eval', step: 3, val_loss: 1, val_tokens: 10 }).success).toBe(false);
    expect(RunMetricSchema.safeParse({ kind: 'eval', step: 3, valLoss: NaN, valTokens: 10 }).success).toBe(true);
  });
});
