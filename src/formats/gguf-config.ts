/**
 * GGUF metadata → a Hugging Face-like `config.json` object, so GGUF models go through the same zod config parser
 * (src/model/config.ts) as HF folders. Keys read: general.architecture, {arch}.context_length, .embedding_length,
 * .block_count, .feed_forward_length, .attention.head_count, .attention.head_count_kv, .attention.key_length,
 * .attention.layer_norm_rms_epsilon, .attention.sliding_window, .rope.freq_base, .rope.dimension_count,
 * .rope.scaling.type/.factor, .attn_logit_softcapping, .final_logit_softcapping, tokenizer.ggml.{bos,eos,eot}_token_id.
 * Facts taken from the tensors: tied embeddings (no `output.weight`), q/k/v bias, vocab size (`token_embd` rows),
 * and Llama 3 rope scaling (`rope_freqs.weight`, see gguf-rope.ts).
 * Not recoverable: a Mistral GGUF says `llama` (same math; its sliding window is not stored); Gemma 2 27B's
 * query_pre_attn_scalar (hidden/heads) is not stored, head_dim is assumed as for 2B and 9B.
 */
import { ARCHITECTURES, architecture } from '../arch/registry.ts';
import type { ByteSource } from './byte-source.ts';
import { type GgufFile, GgufError, ggufNumber, ggufPlain, ggufString, readGgufTensor } from './gguf.ts';
import { dequantizeGguf } from './gguf-dequant.ts';
import { fitLlama3RopeScaling } from './gguf-rope.ts';

/** The HF class each family's GGUF maps back to (its registry entry's first class). */
const ARCHITECTURE_CLASSES: Record<string, string> = Object.fromEntries(
  ARCHITECTURES.map((a) => [a.id, a.hfClasses[0]!]),
);

export const ROPE_FREQS_TENSOR = 'rope_freqs.weight';

/** A per-layer key (array) must be uniform: the engine has one value for all layers. */
function uniformNumber(file: GgufFile, key: string): number | undefined {
  const v = file.metadata.get(key);
  if (v === undefined) return undefined;
  const plain = ggufPlain(v);
  if (typeof plain === 'number') return plain;
  if (Array.isArray(plain) && plain.length > 0 && plain.every((x) => x === plain[0]) && typeof plain[0] === 'number')
    return plain[0];
  throw new GgufError(
    file.fileName,
    `metadata "${key}" varies per layer (${JSON.stringify(plain).slice(0, 80)}), which is not supported`,
  );
}

function required(file: GgufFile, key: string): number {
  const v = uniformNumber(file, key);
  if (v === undefined) throw new GgufError(file.fileName, `metadata "${key}" is missing: cannot describe the model`);
  return v;
}

/**
 * The HF-like config. `ropeFreqs` are the values of `rope_freqs.weight` when the file has that tensor (read them with
 * `readGgufHfConfig`, or pass them in); without them a file that has the tensor is refused rather than mis-read.
 */
export function ggufToHfConfig(file: GgufFile, ropeFreqs?: ArrayLike<number>): Record<string, unknown> {
  const arch = ggufString(file, 'general.architecture');
  if (!arch) throw new GgufError(file.fileName, 'metadata "general.architecture" is missing');
  const k = (suffix: string): string => `${arch}.${suffix}`;
  const hidden = required(file, k('embedding_length'));
  const heads = required(file, k('attention.head_count'));
  const kvHeads = uniformNumber(file, k('attention.head_count_kv')) ?? heads;
  const keyLength = uniformNumber(file, k('attention.key_length'));
  const headDim = keyLength ?? hidden / heads;
  const embd = file.byName.get('token_embd.weight');
  const tokens = file.metadata.get('tokenizer.ggml.tokens');
  const vocab =
    embd?.shape[0] ??
    uniformNumber(file, k('vocab_size')) ??
    (tokens?.type === 'array' ? tokens.items.length : undefined);
  if (vocab === undefined)
    throw new GgufError(
      file.fileName,
      'cannot tell the vocabulary size (no token_embd.weight, vocab_size or tokenizer.ggml.tokens)',
    );
  const ropeTheta = uniformNumber(file, k('rope.freq_base')) ?? 10000;

  const config: Record<string, unknown> = {
    architectures: ARCHITECTURE_CLASSES[arch] ? [ARCHITECTURE_CLASSES[arch]] : [],
    model_type: arch,
    hidden_size: hidden,
    intermediate_size: required(file, k('feed_forward_length')),
    num_hidden_layers: required(file, k('block_count')),
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    vocab_size: vocab,
    max_position_embeddings: uniformNumber(file, k('context_length')) ?? 4096,
    rms_norm_eps: uniformNumber(file, k('attention.layer_norm_rms_epsilon')) ?? 1e-6,
    rope_theta: ropeTheta,
    tie_word_embeddings: !file.byName.has('output.weight'),
    attention_bias: file.byName.has('blk.0.attn_q.bias'),
  };
  if (keyLength !== undefined) config.head_dim = keyLength;
  const ropeDims = uniformNumber(file, k('rope.dimension_count'));
  if (ropeDims !== undefined && ropeDims !== headDim) config.partial_rotary_factor = ropeDims / headDim;

  const scalingType = ggufString(file, k('rope.scaling.type'));
  if (file.byName.has(ROPE_FREQS_TENSOR)) {
    if (!ropeFreqs)
      throw new GgufError(
        file.fileName,
        `has ${ROPE_FREQS_TENSOR}: read it with readGgufHfConfig to get the rope scaling`,
      );
    const fitted = fitLlama3RopeScaling(ropeFreqs, ropeDims ?? headDim, ropeTheta);
    const plain = Array.from(ropeFreqs);
    if (!fitted && plain.some((v) => v !== 1))
      throw new GgufError(
        file.fileName,
        `${ROPE_FREQS_TENSOR} does not match Llama 3 rope scaling, the only per-frequency scaling supported`,
      );
    config.rope_scaling = fitted;
  } else if (scalingType && scalingType !== 'none') {
    config.rope_scaling = { rope_type: scalingType, factor: uniformNumber(file, k('rope.scaling.factor')) ?? 1 };
  } else {
    config.rope_scaling = null;
  }

  const window = uniformNumber(file, k('attention.sliding_window'));
  if (window !== undefined && window > 0) config.sliding_window = window;
  const spec = architecture(arch);
  if (spec?.gemmaNorms) {
    config.hidden_activation = 'gelu_pytorch_tanh';
    config.hidden_act = 'gelu_pytorch_tanh';
  }
  if (spec?.sandwichNorms) {
    config.query_pre_attn_scalar = headDim;
    config.attn_logit_softcapping = uniformNumber(file, k('attn_logit_softcapping')) ?? null;
    config.final_logit_softcapping = uniformNumber(file, k('final_logit_softcapping')) ?? null;
  }

  const bos = ggufNumber(file, 'tokenizer.ggml.bos_token_id');
  if (bos !== undefined) config.bos_token_id = bos;
  const eos = [ggufNumber(file, 'tokenizer.ggml.eos_token_id'), ggufNumber(file, 'tokenizer.ggml.eot_token_id')].filter(
    (x): x is number => x !== undefined,
  );
  const eosUnique = [...new Set(eos)];
  if (eosUnique.length === 1) config.eos_token_id = eosUnique[0];
  else if (eosUnique.length > 1) config.eos_token_id = eosUnique;
  return config;
}

/** Reads `rope_freqs.weight` when present, then builds the HF-like config. */
export async function readGgufHfConfig(source: ByteSource, file: GgufFile): Promise<Record<string, unknown>> {
  const info = file.byName.get(ROPE_FREQS_TENSOR);
  if (!info) return ggufToHfConfig(file);
  const count = info.shape.reduce((a, b) => a * b, 1);
  return ggufToHfConfig(file, dequantizeGguf(info.type, await readGgufTensor(source, info), count));
}
