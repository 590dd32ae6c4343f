/** Phi-3: fused qkv_proj and gate_up_proj (split on load, fused again for PEFT), a sliding window on every layer. */
import { type ArchitectureSpec, LLAMA_LIKE, TINY_BASE } from './spec.ts';

export const spec: ArchitectureSpec = {
  ...LLAMA_LIKE,
  id: 'phi3',
  order: 6,
  hfClasses: ['Phi3ForCausalLM'],
  ggufArch: 'phi3',
  // llama.cpp's ffn_up holds gate then up, as HF's gate_up_proj (attn_qkv is qkv_proj in the shared table)
  ggufBlockNames: { ffn_up: 'mlp.gate_up_proj' },
  slidingWindow: 'every-layer',
  fusedProjections: true,
  tinyConfig: {
    ...TINY_BASE,
    model_type: 'phi3',
    num_key_value_heads: 4,
    rope_scaling: { type: 'linear', factor: 2 },
  },
};
