/** config.json objects of very small models of every supported architecture, for reference-model tests. */
const base = {
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 23,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  tie_word_embeddings: false,
};

export const TINY_CONFIGS: Record<string, Record<string, unknown>> = {
  llama: { ...base, model_type: 'llama' },
  llama3_rope_partial: {
    ...base,
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
  mistral: { ...base, model_type: 'mistral', sliding_window: 3 },
  qwen2: { ...base, model_type: 'qwen2', tie_word_embeddings: true, rope_theta: 1e6 },
  qwen3: { ...base, model_type: 'qwen3', head_dim: 6, num_key_value_heads: 1 },
  gemma: { ...base, model_type: 'gemma', num_key_value_heads: 1, hidden_act: 'gelu', tie_word_embeddings: true },
  gemma2: {
    ...base,
    model_type: 'gemma2',
    head_dim: 8,
    query_pre_attn_scalar: 8,
    attn_logit_softcapping: 1.5,
    final_logit_softcapping: 2.0,
    sliding_window: 3,
    hidden_activation: 'gelu_pytorch_tanh',
    tie_word_embeddings: true,
  },
  phi3: { ...base, model_type: 'phi3', num_key_value_heads: 4, rope_scaling: { type: 'linear', factor: 2 } },
};
