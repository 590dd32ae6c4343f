/**
 * GGUF tensor names ↔ Hugging Face names, with what a loader must undo to get HF values back:
 * - llama/mistral: rows of q (n_heads) and k (n_kv_heads) weights and biases were permuted (gguf-permute.ts);
 * - gemma family: every `*norm.weight` was stored as HF + 1 (`normShift`), so subtract it.
 * Names: token_embd, output_norm, output, blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, attn_qkv,
 * attn_q_norm, attn_k_norm, ffn_norm, ffn_gate, ffn_up, ffn_down, post_attention_norm, post_ffw_norm}, + .weight/.bias.
 */
import { ggufPermutesQk } from './gguf-permute.ts';

export interface GgufNamingContext {
  /** `general.architecture` */
  arch: string;
  heads: number;
  kvHeads: number;
}

export interface GgufTensorMapping {
  ggufName: string;
  hfName: string;
  /** Heads to pass to `unpermuteQkRows` (null when the tensor was not permuted). */
  unpermuteHeads: number | null;
  /** The GGUF value is HF value + normShift (1 for gemma norms, else 0). */
  normShift: number;
}

const GLOBAL: [gguf: string, hf: string][] = [
  ['token_embd', 'model.embed_tokens'],
  ['output_norm', 'model.norm'],
  ['output', 'lm_head'],
];

/** Per-block names shared by every architecture. */
const BLOCK_COMMON: [gguf: string, hf: string][] = [
  ['attn_norm', 'input_layernorm'],
  ['attn_q', 'self_attn.q_proj'],
  ['attn_k', 'self_attn.k_proj'],
  ['attn_v', 'self_attn.v_proj'],
  ['attn_output', 'self_attn.o_proj'],
  ['attn_qkv', 'self_attn.qkv_proj'],
  ['attn_q_norm', 'self_attn.q_norm'],
  ['attn_k_norm', 'self_attn.k_norm'],
  ['ffn_gate', 'mlp.gate_proj'],
  ['ffn_down', 'mlp.down_proj'],
  ['post_ffw_norm', 'post_feedforward_layernorm'],
];

/** Gemma 2/3 have four norms per block: ffn_norm is the PRE-feedforward norm and post_attention_norm is separate. */
function isSandwichArch(arch: string): boolean {
  return arch === 'gemma2' || arch === 'gemma3';
}

export function isGemmaArch(arch: string): boolean {
  return arch === 'gemma' || arch === 'gemma2' || arch === 'gemma3';
}

function blockTable(arch: string): [string, string][] {
  const table = [...BLOCK_COMMON];
  table.push(['ffn_up', arch === 'phi3' ? 'mlp.gate_up_proj' : 'mlp.up_proj']);
  if (isSandwichArch(arch)) {
    table.push(['ffn_norm', 'pre_feedforward_layernorm'], ['post_attention_norm', 'post_attention_layernorm']);
  } else {
    table.push(['ffn_norm', 'post_attention_layernorm']);
  }
  return table;
}

const SUFFIX = /\.(weight|bias)$/;

/** HF name for a GGUF tensor name, or null for tensors with no HF counterpart (e.g. `rope_freqs.weight`). */
export function ggufToHfName(ggufName: string, arch: string): string | null {
  const suffix = SUFFIX.exec(ggufName);
  if (!suffix) return null;
  const stem = ggufName.slice(0, suffix.index);
  const global = GLOBAL.find(([g]) => g === stem);
  if (global) return `${global[1]}.${suffix[1]}`;
  const block = /^blk\.(\d+)\.(.+)$/.exec(stem);
  if (!block) return null;
  const entry = blockTable(arch).find(([g]) => g === block[2]);
  return entry ? `model.layers.${block[1]}.${entry[1]}.${suffix[1]}` : null;
}

/** GGUF name for an HF tensor (or module weight) name, or null when GGUF has no such tensor. */
export function hfToGgufName(hfName: string, arch: string): string | null {
  const suffix = SUFFIX.exec(hfName);
  if (!suffix) return null;
  const stem = hfName.slice(0, suffix.index);
  const global = GLOBAL.find(([, h]) => h === stem);
  if (global) return `${global[0]}.${suffix[1]}`;
  const block = /^model\.layers\.(\d+)\.(.+)$/.exec(stem);
  if (!block) return null;
  const entry = blockTable(arch).find(([, h]) => h === block[2]);
  return entry ? `blk.${block[1]}.${entry[0]}.${suffix[1]}` : null;
}

/** Everything a loader needs to turn one GGUF tensor back into its HF tensor, or null when it has no HF counterpart. */
export function ggufTensorMapping(ggufName: string, ctx: GgufNamingContext): GgufTensorMapping | null {
  const hfName = ggufToHfName(ggufName, ctx.arch);
  if (hfName === null) return null;
  let unpermuteHeads: number | null = null;
  if (ggufPermutesQk(ctx.arch)) {
    if (/\.attn_q\.(weight|bias)$/.test(ggufName)) unpermuteHeads = ctx.heads;
    else if (/\.attn_k\.(weight|bias)$/.test(ggufName)) unpermuteHeads = ctx.kvHeads;
  }
  const normShift = isGemmaArch(ctx.arch) && hfName.endsWith('norm.weight') ? 1 : 0;
  return { ggufName, hfName, unpermuteHeads, normShift };
}
