/**
 * What one architecture is, in one file per architecture (src/arch/<id>.ts, as mlx-lm's models/<arch>.py): the
 * Hugging Face names, the GGUF name and layout, the feature flags config.ts turns into a model description, the chat
 * template family, and a tiny config the tests build a model from. src/arch/registry.ts collects every file of
 * this folder; config.ts, the GGUF code and the tests read the registry, never a list of their own.
 */

/** Which layers use a sliding attention window when the config sets `sliding_window`. */
export type SlidingWindowPolicy =
  /** none: the config's window is ignored */
  | 'never'
  /** every layer (mistral, phi3) */
  | 'every-layer'
  /** even layers; odd layers attend to everything (gemma2) */
  | 'even-layers'
  /** every layer, only when `use_sliding_window` is true (qwen2, qwen3) */
  | 'when-enabled';

/** The chat template a tiny test model of this family is built with (test/fixtures/tokenizer.ts). */
export type ChatTemplateFamily = 'llama3' | 'chatml' | 'gemma';

export interface ArchitectureSpec {
  /** config.json `model_type`. */
  id: string;
  /** Position in lists and messages (the families in the order they were added). */
  order: number;
  /** config.json `architectures` entries of this family (the first is what a converted GGUF maps back to). */
  hfClasses: readonly string[];
  /** llama.cpp's `general.architecture` for this family (Mistral converts as "llama"). */
  ggufArch: string;
  /**
   * Other `general.architecture` names whose files use this family's GGUF tensor names and conventions, for GGUF
   * families that have no Hugging Face family of their own here (gemma2: Gemma 3's "gemma3" — its tensor names map,
   * its config is refused as an unsupported model_type).
   */
  ggufAliases: readonly string[];
  /** llama.cpp's converter permutes the rows of q and k (per head, for its rotary layout). */
  ggufPermutesQk: boolean;
  /**
   * The block tensors whose GGUF names differ from (or add to) the llama layout of src/formats/gguf-names.ts:
   * llama.cpp's name within `blk.N.` → the HF module path within `model.layers.N.` (e.g. phi3's ffn_up is
   * mlp.gate_up_proj). Each side must stay unique over the merged table.
   */
  ggufBlockNames: Readonly<Record<string, string>>;
  /**
   * Gemma's conventions: norms scale by (1 + w), embeddings × √hidden, tied embeddings and GELU-tanh by default.
   * llama.cpp's converter stores such norms as w + 1 (GGML multiplies by the stored weight), so a GGUF loader
   * subtracts 1 from every `*norm.weight`.
   */
  gemmaNorms: boolean;
  /** q/k/v biases: 'config' reads `attention_bias` (default off); 'unless-disabled' has them unless it is false. */
  qkvBias: 'config' | 'unless-disabled';
  /** RMSNorm on each head of q and k (qwen3). */
  qkNorm: boolean;
  /** Norms after attention and around the MLP as well (gemma2), with its attention scale and logit soft-caps. */
  sandwichNorms: boolean;
  slidingWindow: SlidingWindowPolicy;
  /** q/k/v in one qkv_proj and gate/up in one gate_up_proj (phi3): split on load, fused again on export. */
  fusedProjections: boolean;
  chatTemplate: ChatTemplateFamily;
  /**
   * A tiny config.json of this family (hidden 16, 2 layers): the reference-model tests build one from it. Uses the
   * family's real field names; test/fixtures adds the token ids.
   */
  tinyConfig: Record<string, unknown>;
}

/** The shared sizes of the tiny configs. */
export const TINY_BASE = {
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
} as const;

/** The flags of a plain llama-style decoder; a file spreads this and says what differs. */
export const LLAMA_LIKE = {
  ggufAliases: [],
  ggufPermutesQk: false,
  ggufBlockNames: {},
  gemmaNorms: false,
  qkvBias: 'config',
  qkNorm: false,
  sandwichNorms: false,
  slidingWindow: 'never',
  fusedProjections: false,
  chatTemplate: 'chatml',
} as const satisfies Partial<ArchitectureSpec>;
