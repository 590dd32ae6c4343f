/** What an ONNX decoder graph is built for (decoder-graph.ts builds it; decoder-ops.ts reads the same options). */
export type OnnxVariant = 'f32' | 'f16' | 'q4';
export type OnnxAdapterMode = 'merged' | 'separate';

export interface DecoderGraphOptions {
  variant: OnnxVariant;
  /** Adapter module paths present ("model.layers.0.self_attn.q_proj", …); empty for the base model. */
  adapterModules: readonly string[];
  adapterMode: OnnxAdapterMode;
  /** The adapter's rank (for the kept-separate branches). */
  adapterRank: number;
  /** RoPE table length (default: the model's max_position_embeddings). */
  positions?: number;
  /** MatMulNBits block size (default 32). */
  blockSize?: number;
}
