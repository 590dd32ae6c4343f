/** Qwen3: per-head RMSNorm on q and k, an explicit head_dim; a sliding window only when enabled. */
import { type ArchitectureSpec, LLAMA_LIKE, TINY_BASE } from './spec.ts';

export const spec: ArchitectureSpec = {
  ...LLAMA_LIKE,
  id: 'qwen3',
  order: 3,
  hfClasses: ['Qwen3ForCausalLM'],
  ggufArch: 'qwen3',
  qkNorm: true,
  slidingWindow: 'when-enabled',
  tinyConfig: { ...TINY_BASE, model_type: 'qwen3', head_dim: 6, num_key_value_heads: 1 },
};
