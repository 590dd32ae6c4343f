/**
 * Every GPU buffer a model needs for training and generation, as a list of named allocations.
 * The engine creates its buffers from this list (owner = category), and the memory plan is the same
 * list summed without allocating: one piece of code answers both "allocate" and "will it fit?".
 */
import type { ModelDescription } from './config.ts';

export type WeightFormat = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0' | 'nf4';
export type AllocationCategory = 'weights' | 'lora' | 'optimizer' | 'activations' | 'kv_cache' | 'scratch';

export interface Allocation {
  category: AllocationCategory;
  name: string;
  bytes: number;
  /** Training buffers and generation buffers are never alive together (generation runs between steps). */
  phase: 'always' | 'train' | 'generate';
}

export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

export interface AllocationSettings {
  /** Format of the large projection weights (q/k/v/o/gate/up/down). */
  projections: WeightFormat;
  /** Format of the embedding table (and the LM head, tied or not). */
  embeddings: WeightFormat;
  rank: number;
  targets: readonly LoraTarget[];
  /** Layers that carry LoRA adapters (indices). */
  loraLayers: readonly number[];
  seq: number;
  batch: number;
  checkpointing: boolean;
  /** Tokens of generation context to reserve a KV cache for (0: no generation). */
  generateTokens: number;
}

const F32 = 4;

/** Bytes of a [rows, cols] weight in a given format (block formats pack along cols). */
export function weightBytes(format: WeightFormat, rows: number, cols: number): number {
  const n = rows * cols;
  switch (format) {
    case 'f32':
      return 4 * n;
    case 'f16':
    case 'bf16':
      return 2 * n;
    case 'q8_0':
      return (n / 32) * 34;
    case 'q4_0':
      return (n / 32) * 18;
    case 'nf4':
      return n / 2 + (n / 64) * 4; // 4-bit codes + one f32 absmax per 64
  }
}

/** The linear layers of one transformer block: name, out features, in features. */
export function projections(d: ModelDescription): { name: LoraTarget; out: number; in: number }[] {
  const q = d.heads * d.headDim;
  const kv = d.kvHeads * d.headDim;
  return [
    { name: 'q_proj', out: q, in: d.hidden },
    { name: 'k_proj', out: kv, in: d.hidden },
    { name: 'v_proj', out: kv, in: d.hidden },
    { name: 'o_proj', out: d.hidden, in: q },
    { name: 'gate_proj', out: d.intermediate, in: d.hidden },
    { name: 'up_proj', out: d.intermediate, in: d.hidden },
    { name: 'down_proj', out: d.hidden, in: d.intermediate },
  ];
}

/** Logit rows computed at once by the chunked cross-entropy, so a [chunk, V] f32 block stays near 64 MiB. */
export function logitsChunkTokens(vocab: number, tokens: number): number {
  return Math.max(1, Math.min(tokens, Math.floor((64 * 2 ** 20) / (vocab * F32))));
}

/** f32 values saved per token by one block's forward for its backward. */
function savedPerToken(d: ModelDescription, s: AllocationSettings, loraModules: number): number {
  const q = d.heads * d.headDim;
  const kv = d.kvHeads * d.headDim;
  const norms = d.sandwichNorms ? 4 : 2;
  return (
    norms * (2 * d.hidden + 1) + // norm inputs, normed outputs, rstd
    q + 2 * kv + // q, k (after RoPE), v
    (d.qkNorm ? q + kv + d.heads + d.kvHeads : 0) + // pre-norm q, k and their rstd
    q + d.heads + // attention output and log-sum-exp
    3 * d.intermediate + // gate, up, activation product
    loraModules * s.rank // u = dropout(x)·Aᵀ per adapted module
  );
}

export function modelAllocations(d: ModelDescription, s: AllocationSettings): Allocation[] {
  const out: Allocation[] = [];
  const add = (category: AllocationCategory, name: string, bytes: number, phase: Allocation['phase'] = 'always') => {
    if (bytes > 0) out.push({ category, name, bytes: Math.ceil(bytes), phase });
  };

  // Weights.
  add('weights', 'model.embed_tokens', weightBytes(s.embeddings, d.vocab, d.hidden));
  if (!d.tieEmbeddings) add('weights', 'lm_head', weightBytes(s.embeddings, d.vocab, d.hidden));
  add('weights', 'model.norm', d.hidden * F32);
  const projs = projections(d);
  for (let l = 0; l < d.layers; l++) {
    for (const p of projs) add('weights', `model.layers.${l}.${p.name}`, weightBytes(s.projections, p.out, p.in));
    if (d.qkvBias) add('weights', `model.layers.${l}.qkv_bias`, (d.heads + 2 * d.kvHeads) * d.headDim * F32);
    add('weights', `model.layers.${l}.norms`, (d.sandwichNorms ? 4 : 2) * d.hidden * F32 + (d.qkNorm ? 2 * d.headDim * F32 : 0));
  }

  // LoRA parameters and gradients; AdamW moments.
  const adapted = projs.filter((p) => s.targets.includes(p.name));
  for (const l of s.loraLayers) {
    for (const p of adapted) {
      const params = s.rank * (p.in + p.out) * F32;
      add('lora', `model.layers.${l}.${p.name}.lora`, 2 * params); // A, B and their gradients
      add('optimizer', `model.layers.${l}.${p.name}.adam`, 2 * params); // m, v
    }
  }

  // Training activations for one micro-batch of N = batch·seq tokens.
  const N = s.batch * s.seq;
  const perToken = savedPerToken(d, s, adapted.length);
  if (s.checkpointing) {
    // Each block's input is kept; one block at a time is recomputed in full during backward.
    add('activations', 'block inputs (checkpoints)', d.layers * N * d.hidden * F32, 'train');
    add('activations', 'recomputed block', N * perToken * F32, 'train');
  } else {
    add('activations', 'saved block activations', d.layers * N * perToken * F32, 'train');
  }
  add('activations', 'final norm + hidden', N * (2 * d.hidden + 1) * F32, 'train');
  // Backward working set of one block: gradients flowing through it.
  add('scratch', 'block gradients', N * (2 * d.hidden + 2 * d.intermediate + (d.heads + 2 * d.kvHeads) * d.headDim) * F32, 'train');
  add('scratch', 'logits chunk', logitsChunkTokens(d.vocab, N) * d.vocab * F32, 'train');
  add('scratch', 'token ids, targets, mask', 3 * N * 4, 'train');

  // Generation (sample outputs at evaluation, "Try it"): KV cache for one sequence.
  if (s.generateTokens > 0) {
    add('kv_cache', 'kv cache', 2 * d.layers * s.generateTokens * d.kvHeads * d.headDim * F32, 'generate');
    add('scratch', 'generation logits + block', (d.vocab + 2 * d.hidden + 2 * d.intermediate + (d.heads + 2 * d.kvHeads) * d.headDim) * F32, 'generate');
  }
  return out;
}
