/**
 * Learning-rate schedules. Step s is 1-based. Warm-up: lr·s/W for s ≤ W (reaching lr at step W). Then, as in
 * transformers' schedules, progress p = (s − 1 − W) / (total − W) runs from 0 (full lr) towards 1 without reaching it
 * on the last step: cosine lr·½(1 + cos πp), linear lr·(1 − p), or constant; never below lr · minLrRatio.
 */
import type { TrainConfig } from '../schema/train.ts';

export function learningRate(o: TrainConfig['optim'], step: number, total: number): number {
  const W = o.warmupSteps;
  if (W > 0 && step <= W) return (o.lr * step) / W;
  if (o.schedule === 'constant') return o.lr;
  const floor = o.lr * o.minLrRatio;
  const progress = Math.min(1, Math.max(0, (step - 1 - W) / Math.max(1, total - W)));
  const shape = o.schedule === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * progress)) : 1 - progress;
  return floor + (o.lr - floor) * shape;
}
