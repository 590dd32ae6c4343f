/** The RoPE frequency configuration of a model description, as the rope kernel's table builder takes it. */
import type { RopeConfig } from '../kernels/rope-freqs.ts';
import type { ModelDescription } from './config.ts';

export function ropeConfigOf(d: ModelDescription): RopeConfig {
  const r = d.rope;
  const base = { theta: d.ropeTheta, rotDim: d.rotaryDim };
  if (r.type === 'linear') return { ...base, scaling: { type: 'linear', factor: r.factor } };
  if (r.type === 'llama3') {
    return {
      ...base,
      scaling: {
        type: 'llama3',
        factor: r.factor,
        lowFreqFactor: r.lowFreqFactor,
        highFreqFactor: r.highFreqFactor,
        originalMaxPositionEmbeddings: r.originalMaxPositions,
      },
    };
  }
  return base;
}
