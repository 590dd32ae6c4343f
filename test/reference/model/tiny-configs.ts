/**
 * config.json objects of very small models of every supported architecture (each family's `tinyConfig` in src/arch/),
 * and variants of them, for reference-model tests.
 */
import { ARCHITECTURES } from '../../../src/arch/registry.ts';
import { TINY_BASE } from '../../../src/arch/spec.ts';

export const TINY_CONFIGS: Record<string, Record<string, unknown>> = {
  ...Object.fromEntries(ARCHITECTURES.map((a) => [a.id, a.tinyConfig])),
  llama3_rope_partial: {
    ...TINY_BASE,
    model_type: 'llama',
    tie_word_embeddings: true,
    partial_rotary_factor: 0.5,
    rope_scaling: {
      rope_type: 'llama3',
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8,
    },
  },
};
