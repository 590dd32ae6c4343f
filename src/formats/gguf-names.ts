/**
 * GGUF tensor names ↔ Hugging Face names, with what a loader must undo to get HF values back:
 * - families whose spec says `ggufPermutesQk` (llama/mistral): rows of q (n_heads) and k (n_kv_heads) weights and
 *   biases were permuted (gguf-permute.ts);
 * - families with `gemmaNorms`: every `*norm.weight` was stored as HF + 1 (`normShift`), so subtract it.
 * Names: token_embd, output_norm, output, blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, attn_qkv,
 * attn_q_norm, attn_k_norm, ffn_norm, ffn_gate, ffn_up, ffn_down, post_ffw_norm}, + .weight/.bias; a family's
 * `ggufBlockNames` (src/arch/<id>.ts) changes or adds block names (gemma2's post_attention_norm, phi3's ffn_up).
 * `arch` below is a GGUF `general.architecture` (or an HF model_type), looked up with `ggufArchitecture`; an unknown
 * one gets the llama layout.
 */
import { ggufArchitecture } from '../arch/registry.ts';

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

/** Per-block names of the llama layout (with the tensors only some families have), before a family's changes. */
const BLOCK_LLAMA: Readonly<Record<string, string>> = {
  attn_norm: 'input_layernorm',
  attn_q: 'self_attn.q_proj',
  attn_k: 'self_attn.k_proj',
  attn_v: 'self_attn.v_proj',
  attn_output: 'self_attn.o_proj',
  attn_qkv: 'self_attn.qkv_proj',
  attn_q_norm: 'self_attn.q_norm',
  attn_k_norm: 'self_attn.k_norm',
  ffn_gate: 'mlp.gate_proj',
  ffn_down: 'mlp.down_proj',
  post_ffw_norm: 'post_feedforward_layernorm',
  ffn_up: 'mlp.up_proj',
  ffn_norm: 'post_attention_layernorm',
};

const blockTables = new Map<string, [gguf: string, hf: string][]>();

function blockTable(arch: string): [string, string][] {
  let table = blockTables.get(arch);
  if (!table) {
    table = Object.entries({ ...BLOCK_LLAMA, ...ggufArchitecture(arch)?.ggufBlockNames });
    const hf = table.map(([, h]) => h);
    const twice = hf.find((h, i) => hf.indexOf(h) !== i);
    // a mistake in a src/arch file's ggufBlockNames: the HF → GGUF direction would be ambiguous
    if (twice !== undefined) throw new Error(`GGUF block names of "${arch}": two GGUF tensors map to ${twice}`);
    blockTables.set(arch, table);
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
  const spec = ggufArchitecture(ctx.arch);
  if (spec?.ggufPermutesQk) {
    if (/\.attn_q\.(weight|bias)$/.test(ggufName)) unpermuteHeads = ctx.heads;
    else if (/\.attn_k\.(weight|bias)$/.test(ggufName)) unpermuteHeads = ctx.kvHeads;
  }
  const normShift = spec?.gemmaNorms && hfName.endsWith('norm.weight') ? 1 : 0;
  return { ggufName, hfName, unpermuteHeads, normShift };
}
