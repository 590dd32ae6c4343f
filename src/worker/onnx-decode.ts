/**
 * Greedy decoding of an exported ONNX decoder (docs/onnx.md's graph layout) with onnxruntime: the prompt in one run,
 * then one token per run with the `present.{i}.*` outputs fed back as `past_key_values.{i}.*`. Written against
 * onnxruntime-common's types, so the same loop runs on onnxruntime-web (the Try page's check, the bench) and on
 * onnxruntime-node (the tests): the caller passes its runtime's Tensor class.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';

/** The runtime's Tensor constructor (onnxruntime-web's or onnxruntime-node's; both implement onnxruntime-common). */
export type TensorClass = typeof Tensor;

/** What the loop needs of the model's shape (ModelDescription has these fields). */
export interface DecoderShape {
  layers: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
}

export type Feeds = Record<string, Tensor>;

export function int64(T: TensorClass, values: readonly number[], dims: readonly number[]): Tensor {
  return new T(
    'int64',
    BigInt64Array.from(values, (v) => BigInt(v)),
    dims,
  );
}

/** The empty cache (past length 0) in the dtype of the model's `past_key_values` inputs. */
export function emptyCache(
  T: TensorClass,
  d: DecoderShape,
  batch: number,
  dtype: 'float32' | 'float16' = 'float32',
): Feeds {
  const feeds: Feeds = {};
  for (let l = 0; l < d.layers; l++)
    for (const kind of ['key', 'value']) {
      const data = dtype === 'float32' ? new Float32Array(0) : new Uint16Array(0);
      feeds[`past_key_values.${l}.${kind}`] = new T(dtype, data, [batch, d.kvHeads, 0, d.headDim]);
    }
  return feeds;
}

/** The dtype of the session's KV cache inputs (float16 in model_fp16.onnx), from its input metadata. */
export function cacheDtype(session: InferenceSession): 'float32' | 'float16' {
  const meta = session.inputMetadata.find((m) => m.name === 'past_key_values.0.key');
  return meta && meta.isTensor && meta.type === 'float16' ? 'float16' : 'float32';
}

/** The feeds of one run over `ids` (batch 1) after `past` cached positions. */
export function stepFeeds(T: TensorClass, ids: readonly number[], past: number, keep: number, cache: Feeds): Feeds {
  const total = past + ids.length;
  return {
    input_ids: int64(T, ids, [1, ids.length]),
    attention_mask: int64(
      T,
      Array.from({ length: total }, () => 1),
      [1, total],
    ),
    position_ids: int64(
      T,
      ids.map((_, i) => past + i),
      [1, ids.length],
    ),
    num_logits_to_keep: int64(T, [keep], []),
    ...cache,
  };
}

/** The `present.*` outputs as the next run's `past_key_values.*` feeds. */
export function cacheFrom(outputs: InferenceSession.OnnxValueMapType): Feeds {
  const feeds: Feeds = {};
  for (const [name, value] of Object.entries(outputs))
    if (name.startsWith('present.')) feeds[name.replace('present.', 'past_key_values.')] = value as Tensor;
  return feeds;
}

/** The index of the largest of the last `V` values (the first one on ties, as the engine's greedy pick). */
export function argmaxLast(logits: ArrayLike<number>, V: number): number {
  const off = logits.length - V;
  let best = 0;
  for (let v = 1; v < V; v++) if (logits[off + v]! > logits[off + best]!) best = v;
  return best;
}

export interface GreedyOptions {
  maxNewTokens: number;
  /** Generation stops after one of these (it is returned, as the engine's generate does). */
  eosTokenIds: readonly number[];
  signal?: AbortSignal;
  onToken?: (token: number) => void;
}

export interface GreedyResult {
  tokens: number[];
  /** Milliseconds for the prompt run and for the decode runs after it. */
  promptMs: number;
  decodeMs: number;
}

/** Greedy decoding: every new token is the argmax of the last position's logits. */
export async function greedyDecode(
  T: TensorClass,
  session: InferenceSession,
  d: DecoderShape,
  prompt: readonly number[],
  opts: GreedyOptions,
): Promise<GreedyResult> {
  if (prompt.length === 0) throw new Error('The prompt has no tokens.');
  const tokens: number[] = [];
  let cache = emptyCache(T, d, 1, cacheDtype(session));
  let input: readonly number[] = prompt;
  let past = 0;
  const t0 = performance.now();
  let promptMs = 0;
  while (tokens.length < opts.maxNewTokens && !opts.signal?.aborted) {
    const outputs = await session.run(stepFeeds(T, input, past, 1, cache));
    const logits = outputs.logits!;
    const next = argmaxLast(logits.data as Float32Array, d.vocab);
    logits.dispose();
    cache = cacheFrom(outputs);
    if (tokens.length === 0) promptMs = performance.now() - t0;
    tokens.push(next);
    opts.onToken?.(next);
    if (opts.eosTokenIds.includes(next)) break;
    past += input.length;
    input = [next];
  }
  for (const t of Object.values(cache)) t.dispose();
  return { tokens, promptMs, decodeMs: performance.now() - t0 - promptMs };
}
