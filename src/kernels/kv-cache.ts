/**
 * The KV cache for generation: per layer, a k cache and a v cache of f32 [maxTokens, Hkv, D], position-major:
 * element (s, hk, d) at ((s·Hkv + hk)·D + d). Row s holds the key / value of the token at position s after RoPE
 * (and after the qk-norm where the model has one), exactly as the training path's k and v [T, Hkv, D] hold them, so
 * the k and v of n new tokens at positions p0..p0+n-1 are one contiguous byte range of each cache and appending them
 * is a buffer copy (`kvAppend`). The decode kernel (src/kernels/attention_decode.ts) reads rows [0, p0 + n).
 * Memory: 2·layers·maxTokens·Hkv·D·4 bytes (`kvCacheBytes`), all allocated up front under one owner.
 */
import type { Recorder } from '../gpu/recorder.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { requireFloats } from './grid.ts';

export interface KvCacheShape {
  layers: number;
  /** Rows of every cache: the longest prompt + generation the cache can hold. */
  maxTokens: number;
  Hkv: number;
  D: number;
}

export interface KvCache extends KvCacheShape {
  /** Per layer: k and v [maxTokens, Hkv, D] f32. */
  k: GPUBuffer[];
  v: GPUBuffer[];
  owner: string;
}

function checkShape(s: KvCacheShape): void {
  for (const [name, v] of Object.entries(s))
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`kv cache: ${name} must be a positive integer, got ${v}`);
}

/** Bytes of all caches of a model. */
export function kvCacheBytes(s: KvCacheShape): number {
  return 2 * s.layers * s.maxTokens * s.Hkv * s.D * 4;
}

/** Allocates the k and v caches of every layer under `owner` (contents undefined until appended). */
export function createKvCache(rt: GpuRuntime, owner: string, s: KvCacheShape): KvCache {
  checkShape(s);
  const floats = s.maxTokens * s.Hkv * s.D;
  const k: GPUBuffer[] = [];
  const v: GPUBuffer[] = [];
  for (let l = 0; l < s.layers; l++) {
    k.push(rt.memory.create(owner, `k-cache-${l}`, floats * 4).buffer);
    v.push(rt.memory.create(owner, `v-cache-${l}`, floats * 4).buffer);
  }
  return { ...s, k, v, owner };
}

export function destroyKvCache(rt: GpuRuntime, cache: KvCache): void {
  for (const b of [...cache.k, ...cache.v]) rt.memory.destroy(b);
  cache.k.length = 0;
  cache.v.length = 0;
}

export interface KvAppendArgs {
  layer: number;
  /** [≥ srcToken + n, Hkv, D]: the new tokens' k and v after RoPE. */
  k: GPUBuffer;
  v: GPUBuffer;
  /** Position of the first new token (its cache row). */
  p0: number;
  /** New tokens. */
  n: number;
  /** First token row of `k` / `v` to copy (default 0). */
  srcToken?: number;
}

/** Records the copies of rows srcToken..srcToken+n-1 of k and v into cache rows p0..p0+n-1 of one layer. */
export function kvAppend(rec: Recorder, cache: KvCache, a: KvAppendArgs): void {
  const src = a.srcToken ?? 0;
  if (!Number.isInteger(a.layer) || a.layer < 0 || a.layer >= cache.layers)
    throw new RangeError(`kv append: layer ${a.layer} is not in [0, ${cache.layers})`);
  for (const [name, v] of Object.entries({ p0: a.p0, n: a.n, srcToken: src })) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`kv append: ${name} must be an integer ≥ 0, got ${v}`);
  }
  if (a.p0 + a.n > cache.maxTokens)
    throw new RangeError(`kv append: positions ${a.p0}..${a.p0 + a.n - 1} exceed the cache's ${cache.maxTokens} rows`);
  const row = cache.Hkv * cache.D;
  requireFloats('kv append k', a.k, (src + a.n) * row);
  requireFloats('kv append v', a.v, (src + a.n) * row);
  if (a.n === 0) return;
  rec.copy(a.k, cache.k[a.layer]!, a.n * row * 4, src * row * 4, a.p0 * row * 4);
  rec.copy(a.v, cache.v[a.layer]!, a.n * row * 4, src * row * 4, a.p0 * row * 4);
}
