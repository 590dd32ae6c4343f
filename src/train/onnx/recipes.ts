/**
 * What each large initializer of an exported ONNX decoder holds, in terms of the model folder's tensors: the graph
 * builder (decoder-graph.ts) declares an initializer and its recipe; the weight streamer (weights.ts) turns the recipe
 * into bytes when the writer asks for it.
 */

export type OnnxWeightDtype = 'float32' | 'float16';

/** One adapter module merged into (or branched beside) a base weight, at `rowOffset` rows into it (phi3's fused). */
export interface ModulePart {
  /** Adapter module path, e.g. "model.layers.0.self_attn.q_proj". */
  path: string;
  rowOffset: number;
}

export type Recipe =
  /** The stored tensor, optionally (1 + w) (gemma norms), transposed [out, in] → [in, out], with adapters merged. */
  | {
      kind: 'dense';
      tensor: string;
      dtype: OnnxWeightDtype;
      transpose: boolean;
      plusOne: boolean;
      merge: ModulePart[];
    }
  /** MatMulNBits parts of a stored [N, K] weight (adapters merged first): packed codes, scales, zero points. */
  | { kind: 'q4'; part: 'codes' | 'scales' | 'zeros'; tensor: string; blockSize: number; merge: ModulePart[] }
  /** A kept-separate adapter: Aᵀ [in, r], or scaling·Bᵀ [r, out]. */
  | { kind: 'lora'; part: 'A' | 'B'; module: string; dtype: OnnxWeightDtype }
  /** RoPE tables [positions, rotary/2]: cos or sin of position · inv_freq, computed in float64. */
  | { kind: 'rope'; part: 'cos' | 'sin'; positions: number; dtype: OnnxWeightDtype };
