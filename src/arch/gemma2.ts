/**
 * Gemma 2: Gemma's conventions plus sandwich norms (after attention and around the MLP), attention scaled by
 * query_pre_attn_scalar^-0.5, soft-capped attention and final logits, a sliding window on even layers.
 */
import { type ArchitectureSpec, LLAMA_LIKE, TINY_BASE } from './spec.ts';

export const spec: ArchitectureSpec = {
  ...LLAMA_LIKE,
  id: 'gemma2',
  order: 5,
  hfClasses: ['Gemma2ForCausalLM'],
  ggufArch: 'gemma2',
  // Gemma 3 GGUF files name their tensors as Gemma 2's (the model itself is not supported, its names still map)
  ggufAliases: ['gemma3'],
  // four norms per block: llama.cpp's ffn_norm is the PRE-feedforward norm and post_attention_norm is its own tensor
  ggufBlockNames: { ffn_norm: 'pre_feedforward_layernorm', post_attention_norm: 'post_attention_layernorm' },
  gemmaNorms: true,
  sandwichNorms: true,
  slidingWindow: 'even-layers',
  chatTemplate: 'gemma',
  tinyConfig: {
    ...TINY_BASE,
    model_type: 'gemma2',
    head_dim: 8,
    query_pre_attn_scalar: 8,
    attn_logit_softcapping: 1.5,
    final_logit_softcapping: 2.0,
    sliding_window: 3,
    hidden_activation: 'gelu_pytorch_tanh',
    tie_word_embeddings: true,
  },
};
