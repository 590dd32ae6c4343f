/** Gemma (v1): (1 + w) norms, embeddings × √hidden, tied embeddings, GELU-tanh (even where the config says "gelu"). */
import { type ArchitectureSpec, LLAMA_LIKE, TINY_BASE } from './spec.ts';

export const spec: ArchitectureSpec = {
  ...LLAMA_LIKE,
  id: 'gemma',
  order: 4,
  hfClasses: ['GemmaForCausalLM'],
  ggufArch: 'gemma',
  gemmaNorms: true,
  chatTemplate: 'gemma',
  tinyConfig: {
    ...TINY_BASE,
    model_type: 'gemma',
    num_key_value_heads: 1,
    hidden_act: 'gelu',
    tie_word_embeddings: true,
  },
};
