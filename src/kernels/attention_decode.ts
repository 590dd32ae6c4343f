/**
 * Attention for generation with a KV cache (shaders/attention_decode.wgsl), split over the cache length
 * (flash-decoding): n new tokens at positions p0..p0+n-1, q [n, H, D], attend to cache positions [0, p0+n) of
 * k and v caches [S_max, Hkv, D] (src/kernels/kv-cache.ts), causally (the query at position p sees s ≤ p), with the
 * training kernel's sliding window, soft-cap, GQA and scale; out [n, H, D].
 *   step 1  one workgroup per (tile of BR query rows, kv head, chunk of the cache): partial max / sum / accumulator
 *   step 2  one workgroup per (token, head): combine the chunks' partials
 * n = 1 is steady decoding; n > 1 is a (chunked) prefill, correct for any n, although the training kernel
 * (src/kernels/attention.ts, on the prompt's own q, k, v) is the faster prefill when p0 = 0.
 * The scratch `partials` holds `attentionDecodePartialFloats` floats; no float atomics anywhere.
 */
import source from '../../shaders/attention_decode.wgsl';
import type { Recorder } from '../gpu/recorder.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { defineShader } from '../gpu/shader.ts';
import { deviceGrid, nextPow2, requireFloats } from './grid.ts';

export const ATTENTION_DECODE_SHADER = defineShader('attention_decode', source, {
  n: 'u32',
  H: 'u32',
  Hkv: 'u32',
  group: 'u32',
  p0: 'u32',
  window: 'u32',
  chunk: 'u32',
  splits: 'u32',
  scale: 'f32',
  softcap: 'f32',
});

/** Largest head dim (the accumulators of BR·⌈D/4⌉ (row, vec4) pairs live in registers, MAX_PAIRS per invocation). */
export const DECODE_MAX_HEAD_DIM = 256;
/** Accumulator pairs per invocation (the shader's MAX_PAIRS). */
const MAX_PAIRS = 8;
/** Default cap on the number of cache chunks (sizes the scratch). */
export const DECODE_MAX_SPLITS = 64;
/** Workgroups step 1 aims for, so that one decoded token keeps a GPU's cores busy. */
const TARGET_WORKGROUPS = 256;

/** BR query rows and BC keys per step in one workgroup of WG invocations. */
export interface DecodeTiles {
  BR: number;
  BC: number;
  WG: number;
}

export interface AttentionDecodeShape {
  /** New tokens (queries). */
  n: number;
  /** Position of the first new token; the caches hold valid rows [0, p0 + n). */
  p0: number;
  H: number;
  Hkv: number;
  D: number;
  /** Rows the caches were allocated for (p0 + n ≤ maxTokens). */
  maxTokens: number;
  /** Logit scale; default D^-0.5. */
  scale?: number;
  /** Sliding window W: the query at p sees p − W < s ≤ p; 0 or absent = none. */
  window?: number;
  /** Logit soft-cap c: c·tanh(x/c); 0 or absent = off. */
  softcap?: number;
  /** Chunks the scratch was sized for (default DECODE_MAX_SPLITS). */
  maxSplits?: number;
  /** Keys per chunk, forcing the split (tests); default from `planDecodeSplits`. */
  chunk?: number;
}

export interface AttentionDecodeArgs extends AttentionDecodeShape {
  /** [n, H, D], after RoPE. */
  q: GPUBuffer;
  /** One layer's caches [maxTokens, Hkv, D], rows [0, p0 + n) filled (the new tokens' included). */
  kCache: GPUBuffer;
  vCache: GPUBuffer;
  /** Scratch of `attentionDecodePartialFloats(shape)` floats. */
  partials: GPUBuffer;
  /** [n, H, D] (written). */
  out: GPUBuffer;
}

/** Floats of the scratch for up to `maxSplits` chunks: (D accumulators, m, l) per (chunk, token, head). */
export function attentionDecodePartialFloats(s: Pick<AttentionDecodeShape, 'n' | 'H' | 'D' | 'maxSplits'>): number {
  return (s.maxSplits ?? DECODE_MAX_SPLITS) * s.n * s.H * (s.D + 2);
}

/** Bytes of workgroup memory of step 1 (each array rounded to 16 bytes). */
export function decodeSharedBytes(D: number, t: Pick<DecodeTiles, 'BR' | 'BC'>): number {
  const dp = 4 * (Math.ceil(D / 4) | 1);
  const arr = (words: number) => Math.ceil((4 * words) / 16) * 16;
  return arr(t.BR * dp) + 2 * arr(t.BC * dp) + arr(t.BR * t.BC) + 3 * arr(t.BR);
}

type Limits = { maxComputeWorkgroupStorageSize: number; maxComputeInvocationsPerWorkgroup: number };

/**
 * Tiles for `rows` = n·G query rows per kv head: BR the next power of two ≥ rows (at most 16, and at most what the
 * register accumulators allow at this D), then the largest BC of 32, 16, …, 1 that fits the workgroup memory.
 */
export function chooseDecodeTiles(rows: number, D: number, limits: Limits): DecodeTiles {
  const WG = Math.min(64, limits.maxComputeInvocationsPerWorkgroup);
  const d4 = Math.ceil(D / 4);
  let BR = Math.min(nextPow2(rows), 16);
  while (BR > 1 && BR * d4 > MAX_PAIRS * WG) BR /= 2;
  for (; BR >= 1; BR /= 2) {
    for (const BC of [32, 16, 8, 4, 2, 1]) {
      if (decodeSharedBytes(D, { BR, BC }) <= limits.maxComputeWorkgroupStorageSize) return { BR, BC, WG };
    }
  }
  throw new RangeError(
    `attention decode: no tile shape for head dim ${D} fits ${limits.maxComputeWorkgroupStorageSize} bytes of workgroup memory`,
  );
}

/**
 * Chunking of the L = p0 + n keys: enough chunks that step 1 launches about TARGET_WORKGROUPS workgroups, at most
 * `maxSplits` and at most one per BC keys; chunks are whole multiples of BC.
 */
export function planDecodeSplits(
  L: number,
  workgroupsPerChunk: number,
  BC: number,
  maxSplits: number,
): { chunk: number; splits: number } {
  const want = Math.max(1, Math.min(maxSplits, Math.ceil(L / BC), Math.ceil(TARGET_WORKGROUPS / workgroupsPerChunk)));
  const chunk = Math.ceil(L / want / BC) * BC;
  return { chunk, splits: Math.ceil(L / chunk) };
}

function checkShape(s: AttentionDecodeShape): { scale: number; window: number; softcap: number; maxSplits: number } {
  for (const [name, v] of Object.entries({ n: s.n, H: s.H, Hkv: s.Hkv, D: s.D, maxTokens: s.maxTokens })) {
    if (!Number.isInteger(v) || v < 1)
      throw new RangeError(`attention decode: ${name} must be a positive integer, got ${v}`);
  }
  if (!Number.isInteger(s.p0) || s.p0 < 0)
    throw new RangeError(`attention decode: p0 must be an integer ≥ 0, got ${s.p0}`);
  if (s.p0 + s.n > s.maxTokens)
    throw new RangeError(`attention decode: positions up to ${s.p0 + s.n - 1} exceed the cache's ${s.maxTokens} rows`);
  if (s.H % s.Hkv !== 0) throw new RangeError(`attention decode: H = ${s.H} is not a multiple of Hkv = ${s.Hkv}`);
  if (s.D > DECODE_MAX_HEAD_DIM)
    throw new RangeError(`attention decode: head dim ${s.D} exceeds ${DECODE_MAX_HEAD_DIM}`);
  const window = s.window ?? 0;
  const softcap = s.softcap ?? 0;
  const scale = s.scale ?? 1 / Math.sqrt(s.D);
  const maxSplits = s.maxSplits ?? DECODE_MAX_SPLITS;
  if (!Number.isInteger(window) || window < 0)
    throw new RangeError(`attention decode: window must be an integer ≥ 0, got ${window}`);
  if (!(softcap >= 0) || !Number.isFinite(softcap))
    throw new RangeError(`attention decode: softcap must be finite and ≥ 0, got ${softcap}`);
  if (!Number.isFinite(scale)) throw new RangeError(`attention decode: scale must be finite, got ${scale}`);
  if (!Number.isInteger(maxSplits) || maxSplits < 1)
    throw new RangeError(`attention decode: maxSplits must be a positive integer, got ${maxSplits}`);
  if (s.chunk !== undefined && (!Number.isInteger(s.chunk) || s.chunk < 1))
    throw new RangeError(`attention decode: chunk must be a positive integer, got ${s.chunk}`);
  return { scale, window, softcap, maxSplits };
}

function checkTiles(D: number, t: DecodeTiles, rt: GpuRuntime): void {
  for (const [name, v] of Object.entries(t))
    if (!Number.isInteger(v) || v < 1)
      throw new RangeError(`attention decode: tile ${name} must be a positive integer, got ${v}`);
  const lim = rt.device.limits;
  if (t.BR * Math.ceil(D / 4) > MAX_PAIRS * t.WG)
    throw new RangeError(
      `attention decode: BR ${t.BR} × ⌈${D}/4⌉ accumulator pairs exceed ${MAX_PAIRS} per invocation of ${t.WG}`,
    );
  if (t.WG > lim.maxComputeInvocationsPerWorkgroup)
    throw new RangeError(
      `attention decode: ${t.WG} invocations exceed the device's ${lim.maxComputeInvocationsPerWorkgroup}`,
    );
  const bytes = decodeSharedBytes(D, t);
  if (bytes > lim.maxComputeWorkgroupStorageSize)
    throw new RangeError(
      `attention decode: tiles need ${bytes} bytes of workgroup memory, the device has ${lim.maxComputeWorkgroupStorageSize}`,
    );
}

/** Records steps 1 and 2; returns the chunking used. */
export async function attentionDecode(
  rt: GpuRuntime,
  rec: Recorder,
  a: AttentionDecodeArgs,
  tiles?: DecodeTiles,
): Promise<{ chunk: number; splits: number; tiles: DecodeTiles }> {
  const { scale, window, softcap, maxSplits } = checkShape(a);
  const G = a.H / a.Hkv;
  const L = a.p0 + a.n;
  requireFloats('attention decode q', a.q, a.n * a.H * a.D);
  requireFloats('attention decode out', a.out, a.n * a.H * a.D);
  requireFloats('attention decode k cache', a.kCache, a.maxTokens * a.Hkv * a.D);
  requireFloats('attention decode v cache', a.vCache, a.maxTokens * a.Hkv * a.D);
  const t = tiles ?? chooseDecodeTiles(a.n * G, a.D, rt.device.limits);
  checkTiles(a.D, t, rt);
  const rowTiles = Math.ceil((a.n * G) / t.BR);
  const plan =
    a.chunk !== undefined
      ? { chunk: a.chunk, splits: Math.ceil(L / a.chunk) }
      : planDecodeSplits(L, rowTiles * a.Hkv, t.BC, maxSplits);
  if (plan.splits > maxSplits)
    throw new RangeError(
      `attention decode: ${plan.splits} chunks of ${plan.chunk} keys exceed the scratch's ${maxSplits}`,
    );
  requireFloats('attention decode partials', a.partials, plan.splits * a.n * a.H * (a.D + 2));
  const params = ATTENTION_DECODE_SHADER.params.pack({
    n: a.n,
    H: a.H,
    Hkv: a.Hkv,
    group: G,
    p0: a.p0,
    window: window >= L ? 0 : window, // a window of L or more masks nothing
    chunk: plan.chunk,
    splits: plan.splits,
    scale,
    softcap,
  });
  const split = await rt.pipelines.get({
    shader: ATTENTION_DECODE_SHADER,
    entryPoint: 'attention_decode_forward_split',
    constants: { HEAD_DIM: a.D, BR: t.BR, BC: t.BC, WG: t.WG },
  });
  rec.dispatch({
    label: 'attention_decode_forward_split',
    pipeline: split,
    buffers: [a.q, a.kCache, a.vCache, a.partials],
    params,
    workgroups: [rowTiles, a.Hkv, plan.splits],
  });
  const WG_COMBINE = Math.min(64, nextPow2(a.D));
  const combine = await rt.pipelines.get({
    shader: ATTENTION_DECODE_SHADER,
    entryPoint: 'attention_decode_forward_combine',
    constants: { HEAD_DIM: a.D, WG_COMBINE },
  });
  rec.dispatch({
    label: 'attention_decode_forward_combine',
    pipeline: combine,
    buffers: [a.partials, a.out],
    params,
    workgroups: deviceGrid(rt, a.n * a.H),
  });
  return { ...plan, tiles: t };
}
