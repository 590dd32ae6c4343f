/**
 * Hugging Face `config.json` → the engine's model description, validated with zod.
 * Supported: llama (incl. SmolLM2, Llama 3.x), mistral, qwen2, qwen3, gemma, gemma2, phi3.
 * The same description comes out of GGUF metadata (src/formats/gguf-config.ts maps it to this HF shape first).
 */
import { z } from 'zod';
import { ARCHITECTURE_IDS, architecture } from '../arch/registry.ts';
import { formatIssues } from '../schema/issues.ts';

/** The config.json `model_type`s the engine runs: one file each in src/arch/ (see src/arch/registry.ts). */
export const SUPPORTED_ARCHITECTURES = ARCHITECTURE_IDS;
export type Architecture = string;

export class UnsupportedModelError extends Error {
  constructor(readonly modelType: string) {
    super(
      `This model's type "${modelType}" is not supported. Supported model types: ${SUPPORTED_ARCHITECTURES.join(', ')}. ` +
        'Pick a model of one of these families (e.g. Qwen2.5, Qwen3, Llama 3.x, SmolLM2, Mistral, Gemma 2, Phi-3).',
    );
    this.name = 'UnsupportedModelError';
  }
}

const tokenIds = z.union([z.number().int(), z.array(z.number().int())]).nullish();

const ropeScaling = z
  .object({
    rope_type: z.string().optional(),
    type: z.string().optional(),
    factor: z.number().positive().optional(),
    low_freq_factor: z.number().optional(),
    high_freq_factor: z.number().optional(),
    original_max_position_embeddings: z.number().int().optional(),
  })
  .passthrough()
  .nullish();

/**
 * Upper bounds on a config's sizes, checked before anything is allocated from them. Each is far above every real
 * model (Llama 3.1 405B: 126 layers, 128 heads, hidden 16384, MLP 53248; Gemma 3: vocab 262144) and keeps every
 * per-layer list and every tensor size small enough to count and to refuse without building it.
 */
export const CONFIG_LIMITS = {
  hidden_size: 65536,
  intermediate_size: 262144,
  num_hidden_layers: 1024,
  num_attention_heads: 1024,
  num_key_value_heads: 1024,
  head_dim: 4096,
  vocab_size: 4 * 2 ** 20,
  max_position_embeddings: 2 ** 24,
  sliding_window: 2 ** 24,
} as const;

/** Largest parameter count accepted (far above any model that fits a browser's GPU). */
export const MAX_PARAMETERS = 2e12;

/** The fields we read; unknown fields are kept but ignored. */
export const HfConfigSchema = z
  .object({
    model_type: z.string(),
    hidden_size: z.number().int().positive(),
    intermediate_size: z.number().int().positive(),
    num_hidden_layers: z.number().int().positive(),
    num_attention_heads: z.number().int().positive(),
    num_key_value_heads: z.number().int().positive().nullish(),
    head_dim: z.number().int().positive().nullish(),
    vocab_size: z.number().int().positive(),
    max_position_embeddings: z.number().int().positive().default(4096),
    rms_norm_eps: z.number().positive().default(1e-6),
    rope_theta: z.number().positive().default(10000),
    rope_scaling: ropeScaling,
    partial_rotary_factor: z.number().positive().max(1).nullish(),
    tie_word_embeddings: z.boolean().nullish(),
    attention_bias: z.boolean().nullish(),
    sliding_window: z.number().int().positive().nullish(),
    use_sliding_window: z.boolean().nullish(),
    query_pre_attn_scalar: z.number().positive().nullish(),
    attn_logit_softcapping: z.number().positive().nullish(),
    final_logit_softcapping: z.number().positive().nullish(),
    hidden_act: z.string().nullish(),
    hidden_activation: z.string().nullish(),
    torch_dtype: z.string().nullish(),
    bos_token_id: tokenIds,
    eos_token_id: tokenIds,
  })
  .passthrough();
export type HfConfig = z.infer<typeof HfConfigSchema>;

export type RopeScaling =
  | { type: 'default' }
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

/** Everything the engine needs to know about a model's shape and math. Shape names follow the kernels: C, I, L, H, Hkv, D, V. */
export interface ModelDescription {
  arch: Architecture;
  /** hidden size C */
  hidden: number;
  /** MLP width I */
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  maxPositions: number;
  rmsEps: number;
  ropeTheta: number;
  rope: RopeScaling;
  /** Rotated dims per head (partial rotary); = headDim for full rotary. */
  rotaryDim: number;
  tieEmbeddings: boolean;
  /** Bias on q/k/v projections (qwen2). */
  qkvBias: boolean;
  /** Per-head RMSNorm of q and k before RoPE (qwen3). */
  qkNorm: boolean;
  /** Norm weight applied as w (llama) or 1+w (gemma). */
  normPlusOne: boolean;
  /** Embeddings multiplied by √C (gemma), else 1. */
  embedScale: number;
  activation: 'silu' | 'gelu_tanh';
  /** post_attention_layernorm on the attention output and pre/post feed-forward norms (gemma2). */
  sandwichNorms: boolean;
  /** Attention scale (D^-0.5, or query_pre_attn_scalar^-0.5 for gemma2). */
  attnScale: number;
  attnSoftcap: number | null;
  finalSoftcap: number | null;
  /** Sliding window size per layer (null = full causal attention). */
  windowPerLayer: (number | null)[];
  /** phi3: q/k/v in one qkv_proj and gate/up in one gate_up_proj. */
  fused: boolean;
  bosTokenId: number | null;
  eosTokenIds: number[];
  /** dtype the checkpoint was saved in, if the config says. */
  torchDtype: string | null;
}

function asList(ids: number | number[] | null | undefined): number[] {
  return ids == null ? [] : Array.isArray(ids) ? ids : [ids];
}

function parseRope(c: HfConfig): RopeScaling {
  const s = c.rope_scaling;
  if (!s) return { type: 'default' };
  const type = s.rope_type ?? s.type ?? 'default';
  if (type === 'default') return { type: 'default' };
  if (type === 'linear') return { type: 'linear', factor: s.factor ?? 1 };
  if (type === 'llama3') {
    return {
      type: 'llama3',
      factor: s.factor ?? 8,
      lowFreqFactor: s.low_freq_factor ?? 1,
      highFreqFactor: s.high_freq_factor ?? 4,
      originalMaxPositions: s.original_max_position_embeddings ?? 8192,
    };
  }
  throw new Error(`rope_scaling of type "${type}" is not supported (supported: default, linear, llama3).`);
}

/** Parses a config.json object (already JSON-parsed). Throws a clear error for unsupported or malformed configs. */
export function parseModelConfig(json: unknown, file = 'config.json'): ModelDescription {
  const typeOnly = z.object({ model_type: z.string() }).safeParse(json);
  if (!typeOnly.success)
    throw new Error(`${file} has no "model_type": this does not look like a Hugging Face model folder.`);
  const arch = typeOnly.data.model_type;
  const spec = architecture(arch);
  if (!spec) throw new UnsupportedModelError(arch);
  const parsed = HfConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error);
    throw new Error(`${file} is not a valid ${arch} config: ${issues}`);
  }
  const c = parsed.data;
  for (const [key, max] of Object.entries(CONFIG_LIMITS)) {
    const v = (c as Record<string, unknown>)[key];
    if (typeof v === 'number' && v > max)
      throw new Error(
        `${file}: ${key} is ${v}, more than ${max}, which no real model has: the file is corrupt or not this model's config.`,
      );
  }
  const a = arch as Architecture;
  const heads = c.num_attention_heads;
  const kvHeads = c.num_key_value_heads ?? heads;
  const headDim = c.head_dim ?? c.hidden_size / heads;
  if (!Number.isInteger(headDim))
    throw new Error(
      `${file}: hidden_size ${c.hidden_size} is not divisible by num_attention_heads ${heads} and no head_dim is given.`,
    );
  if (heads % kvHeads !== 0)
    throw new Error(`${file}: num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}.`);
  if (heads * headDim > 4 * CONFIG_LIMITS.hidden_size)
    throw new Error(
      `${file}: num_attention_heads × head_dim is ${heads * headDim}, more than ${4 * CONFIG_LIMITS.hidden_size}: the file is corrupt.`,
    );
  const gemmaLike = spec.gemmaNorms;
  const rotaryDim = Math.round(headDim * (c.partial_rotary_factor ?? 1));
  if (rotaryDim % 2 !== 0) throw new Error(`${file}: the rotary dimension ${rotaryDim} must be even.`);

  // Sliding windows (the family's policy, src/arch/spec.ts): every layer (mistral, phi3), even layers (gemma2), or
  // every layer only with use_sliding_window (qwen2/3).
  let windowPerLayer: (number | null)[] = Array.from({ length: c.num_hidden_layers }, () => null);
  const w = c.sliding_window ?? null;
  if (w !== null) {
    const policy = spec.slidingWindow;
    if (policy === 'even-layers') windowPerLayer = windowPerLayer.map((_, i) => (i % 2 === 0 ? w : null));
    else if (policy === 'every-layer') windowPerLayer = windowPerLayer.map(() => w);
    else if (policy === 'when-enabled' && c.use_sliding_window) windowPerLayer = windowPerLayer.map(() => w);
  }

  const act = (c.hidden_activation ?? c.hidden_act ?? (gemmaLike ? 'gelu_pytorch_tanh' : 'silu')).toLowerCase();
  // Gemma v1 configs say "gelu" but the reference implementation uses the tanh approximation.
  const activation = act === 'silu' || act === 'swish' ? 'silu' : act.startsWith('gelu') ? 'gelu_tanh' : null;
  if (!activation)
    throw new Error(`${file}: activation "${act}" is not supported (supported: silu, gelu_pytorch_tanh).`);

  const desc: ModelDescription = {
    arch: a,
    hidden: c.hidden_size,
    intermediate: c.intermediate_size,
    layers: c.num_hidden_layers,
    heads,
    kvHeads,
    headDim,
    vocab: c.vocab_size,
    maxPositions: c.max_position_embeddings,
    rmsEps: c.rms_norm_eps,
    ropeTheta: c.rope_theta,
    rope: parseRope(c),
    rotaryDim,
    tieEmbeddings: c.tie_word_embeddings ?? (gemmaLike ? true : false),
    qkvBias: spec.qkvBias === 'unless-disabled' ? c.attention_bias !== false : Boolean(c.attention_bias),
    qkNorm: spec.qkNorm,
    normPlusOne: gemmaLike,
    embedScale: gemmaLike ? Math.sqrt(c.hidden_size) : 1,
    activation,
    sandwichNorms: spec.sandwichNorms,
    attnScale: spec.sandwichNorms && c.query_pre_attn_scalar ? c.query_pre_attn_scalar ** -0.5 : headDim ** -0.5,
    attnSoftcap: spec.sandwichNorms ? (c.attn_logit_softcapping ?? null) : null,
    finalSoftcap: spec.sandwichNorms ? (c.final_logit_softcapping ?? null) : null,
    windowPerLayer,
    fused: spec.fusedProjections,
    bosTokenId: asList(c.bos_token_id)[0] ?? null,
    eosTokenIds: asList(c.eos_token_id),
    torchDtype: c.torch_dtype ?? null,
  };
  const params = parameterCount(desc);
  if (!(params <= MAX_PARAMETERS))
    throw new Error(
      `${file}: these sizes make ${params.toExponential(2)} parameters, more than ${MAX_PARAMETERS.toExponential(0)}: the file is corrupt or not this model's config.`,
    );
  return desc;
}

/** Parameter count of the base model (for display and planning). */
export function parameterCount(d: ModelDescription): number {
  const q = d.heads * d.headDim;
  const kv = d.kvHeads * d.headDim;
  const perLayer =
    d.hidden * (q + 2 * kv) + q * d.hidden + 3 * d.hidden * d.intermediate + (d.qkvBias ? q + 2 * kv : 0);
  const norms = d.hidden * (d.sandwichNorms ? 4 : 2) + (d.qkNorm ? 2 * d.headDim : 0);
  return d.layers * (perLayer + norms) + d.vocab * d.hidden * (d.tieEmbeddings ? 1 : 2) + d.hidden;
}
