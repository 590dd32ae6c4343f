/** Llama (Llama 2 / 3.x, SmolLM2): the plain decoder the others differ from. */
import { type ArchitectureSpec, LLAMA_LIKE, TINY_BASE } from './spec.ts';

export const spec: ArchitectureSpec = {
  ...LLAMA_LIKE,
  id: 'llama',
  order: 0,
  hfClasses: ['LlamaForCausalLM'],
  ggufArch: 'llama',
  ggufPermutesQk: true,
  chatTemplate: 'llama3',
  tinyConfig: { ...TINY_BASE, model_type: 'llama' },
};
