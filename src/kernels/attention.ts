/**
 * Causal attention with grouped KV heads, flash-style (shaders/attention.wgsl):
 *   forward   out = softmax(mask(cap(scale·q·kᵀ)))·v, and lse [N, H] saved for the backward
 *   backward  Δ = rowsum(dout ∘ out), then dq (one pass over key tiles per query tile) and dk, dv (one pass over
 *             query tiles per key tile, summing the G query heads of each kv head without atomics)
 * Tokens are B rows of T (N = B·T): q, out [N, H, D]; k, v [N, Hkv, D]. A flat token axis of sequences of
 * different lengths is B = 1 with one segment per sequence; packing several examples into a row is a segment id
 * per token (non-decreasing along each row: `segmentIdsFromLengths`). Head dims 1..256, any value.
 */
import source from '../../shaders/attention.wgsl';
import type { Recorder } from '../gpu/recorder.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { defineShader } from '../gpu/shader.ts';
import { deviceGrid, requireFloats } from './grid.ts';

export const ATTENTION_SHADER = defineShader('attention', source, {
  B: 'u32',
  T: 'u32',
  H: 'u32',
  Hkv: 'u32',
  group: 'u32',
  window: 'u32',
  has_segments: 'u32',
  scale: 'f32',
  softcap: 'f32',
});

/** Largest head dim: each invocation keeps ⌈⌈D/4⌉/TPR⌉ ≤ 8 vec4 of output columns in registers (TPR = 8). */
export const MAX_HEAD_DIM = 256;

/**
 * Tile shape of one tiled kernel. Forward and dq: BR query rows per workgroup, keys in steps of BC, BR·TPR
 * invocations. dk/dv: BC keys per workgroup, query rows in steps of BR, BC·TPR invocations.
 * A query row is one (token, query head of the kv group) pair.
 */
export interface AttentionTiles {
  BR: number;
  BC: number;
  TPR: number;
}

export type AttentionKernel = 'forward' | 'dq' | 'dkdv';

export interface AttentionShape {
  B: number;
  T: number;
  H: number;
  Hkv: number;
  D: number;
  /** Logit scale; default D^-0.5 (gemma2: query_pre_attn_scalar^-0.5). */
  scale?: number;
  /** Sliding window W: query t sees keys s with t − W < s ≤ t; 0 or absent = none. */
  window?: number;
  /** Logit soft-cap c: logits become c·tanh(x/c); 0 or absent = off. */
  softcap?: number;
  /** u32 [B·T] segment id per token, non-decreasing along each row; attention never crosses segments. */
  segments?: GPUBuffer;
}

export interface AttentionForwardArgs extends AttentionShape {
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  out: GPUBuffer;
  /** [B·T, H]: natural log-sum-exp of each query's logits, kept for the backward. */
  lse: GPUBuffer;
}

export interface AttentionBackwardArgs extends AttentionShape {
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  out: GPUBuffer;
  lse: GPUBuffer;
  dout: GPUBuffer;
  /** Scratch of `attentionStatsFloats(shape)` floats: (lse, Δ) per (token, head). */
  stats: GPUBuffer;
  dq: GPUBuffer;
  dk: GPUBuffer;
  dv: GPUBuffer;
}

/** Floats of the backward's scratch buffer. */
export function attentionStatsFloats(s: Pick<AttentionShape, 'B' | 'T' | 'H'>): number {
  return 2 * s.B * s.T * s.H;
}

/** Bytes of workgroup memory a kernel declares (each array rounded to 16 bytes). */
export function attentionSharedBytes(kernel: AttentionKernel, D: number, t: AttentionTiles): number {
  const dp = 4 * (Math.ceil(D / 4) | 1); // tile rows: ⌈D/4⌉ vec4, odd stride
  const arr = (words: number) => Math.ceil((4 * words) / 16) * 16;
  const common = arr(t.BR * dp) + 2 * arr(t.BC * dp) + arr(t.BR * t.BC) + arr(t.BC);
  if (kernel === 'forward') return common + arr(t.BR * t.TPR);
  if (kernel === 'dq') return common + arr(t.BR * dp);
  return common + arr(t.BR * dp) + arr(t.BR * t.BC) + 2 * arr(t.BR) + arr(2 * t.BR);
}

/** Preferred tile shapes, best first; the first that fits the device is used. */
const CANDIDATES: Record<AttentionKernel, [number, number][]> = {
  forward: [
    [32, 32],
    [16, 32],
    [32, 16],
    [16, 16],
    [8, 16],
    [16, 8],
    [8, 8],
    [4, 8],
    [4, 4],
    [2, 4],
  ],
  dq: [
    [32, 16],
    [16, 16],
    [16, 8],
    [8, 8],
    [8, 4],
    [4, 4],
    [2, 4],
    [2, 2],
  ],
  dkdv: [
    [16, 32],
    [16, 16],
    [8, 16],
    [8, 8],
    [4, 8],
    [4, 4],
    [2, 4],
    [2, 2],
  ],
};

/** Tile shape for `kernel` at head dim D under the device limits (throws if none fits). */
export function chooseAttentionTiles(
  kernel: AttentionKernel,
  D: number,
  limits: { maxComputeWorkgroupStorageSize: number; maxComputeInvocationsPerWorkgroup: number },
): AttentionTiles {
  // Invocations per query row (or key): enough that ⌈D/4/TPR⌉ ≤ 8 vec4 columns fit in registers, few for small D
  // so that each invocation's logit work (D multiply-adds) is not dwarfed by the per-logit softmax work.
  const TPR = D <= 16 ? 2 : D <= 32 ? 4 : 8;
  for (const [BR, BC] of CANDIDATES[kernel]) {
    const t = { BR, BC, TPR };
    const threads = (kernel === 'dkdv' ? BC : BR) * TPR;
    if (
      threads <= limits.maxComputeInvocationsPerWorkgroup &&
      attentionSharedBytes(kernel, D, t) <= limits.maxComputeWorkgroupStorageSize
    )
      return t;
  }
  throw new RangeError(
    `attention ${kernel}: no tile shape for head dim ${D} fits ${limits.maxComputeWorkgroupStorageSize} bytes of workgroup memory`,
  );
}

function checkTiles(kernel: AttentionKernel, D: number, t: AttentionTiles, rt: GpuRuntime): void {
  for (const [name, v] of Object.entries(t))
    if (!Number.isInteger(v) || v < 1)
      throw new RangeError(`attention ${kernel}: tile ${name} must be a positive integer, got ${v}`);
  if (Math.ceil(Math.ceil(D / 4) / t.TPR) > 8)
    throw new RangeError(
      `attention ${kernel}: head dim ${D} needs TPR ≥ ${Math.ceil(Math.ceil(D / 4) / 8)} (got ${t.TPR})`,
    );
  const lim = rt.device.limits;
  const threads = (kernel === 'dkdv' ? t.BC : t.BR) * t.TPR;
  if (threads > lim.maxComputeInvocationsPerWorkgroup)
    throw new RangeError(
      `attention ${kernel}: ${threads} invocations exceed the device's ${lim.maxComputeInvocationsPerWorkgroup}`,
    );
  const bytes = attentionSharedBytes(kernel, D, t);
  if (bytes > lim.maxComputeWorkgroupStorageSize)
    throw new RangeError(
      `attention ${kernel}: tiles need ${bytes} bytes of workgroup memory, the device has ${lim.maxComputeWorkgroupStorageSize}`,
    );
}

function resolved(s: AttentionShape): { scale: number; window: number; softcap: number } {
  for (const [name, v] of Object.entries({ B: s.B, T: s.T, H: s.H, Hkv: s.Hkv, D: s.D })) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`attention: ${name} must be a positive integer, got ${v}`);
  }
  if (s.H % s.Hkv !== 0) throw new RangeError(`attention: H = ${s.H} is not a multiple of Hkv = ${s.Hkv}`);
  if (s.D > MAX_HEAD_DIM) throw new RangeError(`attention: head dim ${s.D} exceeds ${MAX_HEAD_DIM}`);
  const window = s.window ?? 0;
  const softcap = s.softcap ?? 0;
  const scale = s.scale ?? 1 / Math.sqrt(s.D);
  if (!Number.isInteger(window) || window < 0)
    throw new RangeError(`attention: window must be an integer ≥ 0, got ${window}`);
  if (!(softcap >= 0) || !Number.isFinite(softcap))
    throw new RangeError(`attention: softcap must be finite and ≥ 0, got ${softcap}`);
  if (!Number.isFinite(scale)) throw new RangeError(`attention: scale must be finite, got ${scale}`);
  if (s.segments) requireFloats('attention segments', s.segments, s.B * s.T);
  return { scale, window, softcap };
}

function params(s: AttentionShape): ArrayBuffer {
  const { scale, window, softcap } = resolved(s);
  return ATTENTION_SHADER.params.pack({
    B: s.B,
    T: s.T,
    H: s.H,
    Hkv: s.Hkv,
    group: s.H / s.Hkv,
    window: window >= s.T ? 0 : window, // a window of T or more masks nothing
    has_segments: s.segments ? 1 : 0,
    scale,
    softcap,
  });
}

async function tiled(
  rt: GpuRuntime,
  rec: Recorder,
  kernel: AttentionKernel,
  s: AttentionShape,
  buffers: GPUBuffer[],
  tiles: AttentionTiles | undefined,
): Promise<void> {
  const t = tiles ?? chooseAttentionTiles(kernel, s.D, rt.device.limits);
  checkTiles(kernel, s.D, t, rt);
  const entryPoint = kernel === 'forward' ? 'attention_forward' : `attention_backward_${kernel}`;
  const pipeline = await rt.pipelines.get({
    shader: ATTENTION_SHADER,
    entryPoint,
    constants: { HEAD_DIM: s.D, BR: t.BR, BC: t.BC, TPR: t.TPR },
  });
  const x = kernel === 'dkdv' ? Math.ceil(s.T / t.BC) : Math.ceil((s.T * (s.H / s.Hkv)) / t.BR);
  rec.dispatch({ label: entryPoint, pipeline, buffers, params: params(s), workgroups: [x, s.Hkv, s.B] });
}

function checkSizes(s: AttentionShape, named: Record<string, [GPUBuffer, 'q' | 'kv' | 'row' | 'stats']>): void {
  const n = s.B * s.T;
  const floats = { q: n * s.H * s.D, kv: n * s.Hkv * s.D, row: n * s.H, stats: 2 * n * s.H };
  for (const [name, [buffer, kind]] of Object.entries(named)) requireFloats(`attention ${name}`, buffer, floats[kind]);
}

/** Records the forward: out and lse. */
export async function attentionForward(
  rt: GpuRuntime,
  rec: Recorder,
  a: AttentionForwardArgs,
  tiles?: AttentionTiles,
): Promise<void> {
  resolved(a);
  checkSizes(a, { q: [a.q, 'q'], k: [a.k, 'kv'], v: [a.v, 'kv'], out: [a.out, 'q'], lse: [a.lse, 'row'] });
  await tiled(rt, rec, 'forward', a, [a.q, a.k, a.v, a.segments ?? rt.unusedBinding, a.out, a.lse], tiles);
}

/** Records the backward: Δ into `stats`, then dq, then dk and dv (all overwritten). */
export async function attentionBackward(
  rt: GpuRuntime,
  rec: Recorder,
  a: AttentionBackwardArgs,
  tiles: { dq?: AttentionTiles; dkdv?: AttentionTiles } = {},
): Promise<void> {
  resolved(a);
  checkSizes(a, {
    q: [a.q, 'q'],
    k: [a.k, 'kv'],
    v: [a.v, 'kv'],
    out: [a.out, 'q'],
    lse: [a.lse, 'row'],
    dout: [a.dout, 'q'],
    stats: [a.stats, 'stats'],
    dq: [a.dq, 'q'],
    dk: [a.dk, 'kv'],
    dv: [a.dv, 'kv'],
  });
  const WG_DELTA = 64;
  const delta = await rt.pipelines.get({
    shader: ATTENTION_SHADER,
    entryPoint: 'attention_backward_delta',
    constants: { HEAD_DIM: a.D, WG_DELTA },
  });
  rec.dispatch({
    label: 'attention_backward_delta',
    pipeline: delta,
    buffers: [a.out, a.dout, a.lse, a.stats],
    params: params(a),
    workgroups: deviceGrid(rt, Math.ceil((a.B * a.T * a.H) / WG_DELTA)),
  });
  const seg = a.segments ?? rt.unusedBinding;
  await tiled(rt, rec, 'dq', a, [a.q, a.k, a.v, seg, a.dout, a.stats, a.dq], tiles.dq);
  await tiled(rt, rec, 'dkdv', a, [a.q, a.k, a.v, seg, a.dout, a.stats, a.dk, a.dv], tiles.dkdv);
}

/** Throws unless segment ids [B·T] are non-decreasing along each row (the kernels' search for segment starts needs it). */
export function checkSegmentIds(ids: ArrayLike<number>, B: number, T: number): void {
  if (ids.length < B * T) throw new RangeError(`segment ids: ${ids.length} given, ${B * T} needed`);
  for (let b = 0; b < B; b++) {
    for (let t = 1; t < T; t++) {
      if (ids[b * T + t]! < ids[b * T + t - 1]!)
        throw new RangeError(
          `segment ids decrease in row ${b} at token ${t} (${ids[b * T + t - 1]} → ${ids[b * T + t]})`,
        );
    }
  }
}

/**
 * Segment ids for packed rows: `rows[b]` lists the lengths of the examples packed into row b (summing to ≤ T);
 * example j of a row gets id j, and the padding after the last example one more id of its own.
 * Also returns the matching RoPE positions (restarting at 0 in every example and in the padding).
 */
export function segmentIdsFromLengths(rows: number[][], T: number): { segments: Uint32Array; positions: Uint32Array } {
  const segments = new Uint32Array(rows.length * T);
  const positions = new Uint32Array(rows.length * T);
  rows.forEach((lengths, b) => {
    let t = 0;
    lengths.forEach((len, j) => {
      if (!Number.isInteger(len) || len < 1)
        throw new RangeError(`packed example length must be a positive integer, got ${len}`);
      for (let i = 0; i < len; i++, t++) {
        if (t >= T) throw new RangeError(`row ${b}: packed lengths ${lengths.join('+')} exceed T = ${T}`);
        segments[b * T + t] = j;
        positions[b * T + t] = i;
      }
    });
    for (let i = 0; t < T; i++, t++) {
      segments[b * T + t] = lengths.length;
      positions[b * T + t] = i;
    }
  });
  return { segments, positions };
}
