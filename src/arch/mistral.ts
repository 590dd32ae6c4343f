/** Mistral: Llama's math with a sliding window on every layer; llama.cpp converts it as "llama". */
import { type ArchitectureSpec, LLAMA_LIKE, TINY_BASE } from './spec.ts';

export const spec: ArchitectureSpec = {
  ...LLAMA_LIKE,
  id: 'mistral',
  order: 1,
  hfClasses: ['MistralForCausalLM'],
  ggufArch: 'llama',
  ggufPermutesQk: true,
  slidingWindow: 'every-layer',
  chatTemplate: 'llama3',
  tinyConfig: { ...TINY_BASE, model_type: 'mistral', sliding_window: 3 },
};
