/**
 * Generation with a KV cache: the prompt is run once (its k/v appended to the cache), then one token at a time;
 * each step reads back one row of logits and samples on the host. Uses the same block code as training, with the
 * attention step replaced by "append to the cache, attend over it".
 */
import type { GpuRuntime } from '../gpu/runtime.ts';
import { attentionDecode } from '../kernels/attention_decode.ts';
import { createKvCache, kvAppend } from '../kernels/kv-cache.ts';
import { decodeScratchFloats, decodeSplits } from './engine-buffers.ts';
import type { ModelEngine } from './model.ts';
import { type SamplingOptions, TokenSampler } from './sampling.ts';

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  seed?: number;
  /** Stop on any of these (default: the model's eos ids). */
  eosTokenIds?: number[];
  /** Called with each new token as it is chosen. */
  onToken?: (token: number) => void;
  /** Called with each step's logits [V] before sampling (after the final soft-cap). */
  onLogits?: (logits: Float32Array) => void;
  signal?: AbortSignal;
}

export interface GenerateResult {
  tokens: number[];
  stop: 'eos' | 'length' | 'cancelled';
}

export async function generate(
  rt: GpuRuntime,
  engine: ModelEngine,
  prompt: number[],
  opts: GenerateOptions,
): Promise<GenerateResult> {
  const d = engine.weights.desc;
  if (prompt.length === 0) throw new Error('generation needs at least one prompt token');
  if (prompt.length > engine.maxT)
    throw new Error(`the prompt has ${prompt.length} tokens; this engine holds at most ${engine.maxT} per row`);
  const maxTokens = prompt.length + opts.maxNewTokens;
  const owner = `${engine.weights.owner}/kv`;
  const cache = createKvCache(rt, owner, { layers: d.layers, maxTokens, Hkv: d.kvHeads, D: d.headDim });
  const partials = rt.memory.create(owner, 'decode-partials', decodeScratchFloats(d, prompt.length) * 4).buffer;
  const sampler = new TokenSampler(
    { ...opts, seed: opts.seed ?? 0, eosTokenIds: opts.eosTokenIds ?? d.eosTokenIds, maxNewTokens: opts.maxNewTokens },
    prompt,
  );
  try {
    let p0 = 0;
    let input = prompt;
    for (;;) {
      if (opts.signal?.aborted) return { tokens: sampler.generated, stop: 'cancelled' };
      const n = input.length;
      const pos = p0;
      const logits = await engine.lastLogits(input, pos, (layer, rec) => async (q, k, v, att) => {
        kvAppend(rec, cache, { layer, k, v, p0: pos, n });
        await attentionDecode(rt, rec, {
          q,
          kCache: cache.k[layer]!,
          vCache: cache.v[layer]!,
          partials,
          out: att,
          n,
          p0: pos,
          H: d.heads,
          Hkv: d.kvHeads,
          D: d.headDim,
          maxTokens,
          scale: d.attnScale,
          window: d.windowPerLayer[layer] ?? 0,
          softcap: d.attnSoftcap ?? 0,
          maxSplits: decodeSplits(n),
        });
      });
      const bad = logits.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0)
        throw new Error(
          `the model produced a non-finite logit (${logits[bad]} for token ${bad}) at position ${pos}: its weights or the adapter overflow; generation stopped instead of sampling garbage`,
        );
      opts.onLogits?.(logits);
      const { token, stop } = sampler.next(logits);
      opts.onToken?.(token);
      if (stop) return { tokens: sampler.generated, stop };
      p0 += n;
      input = [token];
    }
  } finally {
    rt.memory.destroyOwner(owner);
  }
}
