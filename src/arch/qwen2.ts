/** Qwen2 / Qwen2.5: q/k/v biases unless the config turns them off; a sliding window only when enabled. */
import { type ArchitectureSpec, LLAMA_LIKE, TINY_BASE } from './spec.ts';

export const spec: ArchitectureSpec = {
  ...LLAMA_LIKE,
  id: 'qwen2',
  order: 2,
  hfClasses: ['Qwen2ForCausalLM'],
  ggufArch: 'qwen2',
  qkvBias: 'unless-disabled',
  slidingWindow: 'when-enabled',
  tinyConfig: { ...TINY_BASE, model_type: 'qwen2', tie_word_embeddings: true, rope_theta: 1e6 },
};
