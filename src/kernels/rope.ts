/**
 * Rotary position embedding, rotate-half pairing with partial rotary (shaders/rope.wgsl):
 *   forward   y  = rope(x)       x, y [T, NH, D]: q (NH = H) or k (NH = Hkv); the first Drot dims rotate
 *   backward  dx = rope⁻¹(dy)    the inverse rotation of the gradient
 * Each runs out of place (`out` / `dx` given) or in place. Positions are per token (u32 [T], all rows flattened),
 * so packed examples restart their positions. Frequencies come from `ropeTurnTable` (src/kernels/rope-freqs.ts).
 */
import source from '../../shaders/rope.wgsl';
import type { Recorder } from '../gpu/recorder.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { defineShader } from '../gpu/shader.ts';
import { deviceGrid, requireFloats } from './grid.ts';
import { type RopeConfig, ropeInvFreq, ropeTurnTable } from './rope-freqs.ts';

export const ROPE_SHADER = defineShader('rope', source, {
  tokens: 'u32',
  heads: 'u32',
  head_dim: 'u32',
  half_rot: 'u32',
  lanes: 'u32',
});

/** Invocations per workgroup. */
export interface RopeTiles {
  WG: number;
}

export const DEFAULT_ROPE_TILES: RopeTiles = { WG: 64 };

export interface RopeShape {
  /** Tokens T (all rows of the batch, flattened). */
  tokens: number;
  /** Heads of this tensor: H for q, Hkv for k. */
  heads: number;
  /** Head dim D. */
  D: number;
  /** Rotary dims Drot (even, ≤ D); dims Drot..D-1 pass through. */
  rotDim: number;
  /** u32 [tokens]: position of each token. */
  positions: GPUBuffer;
  /** u32 [rotDim/2, 2]: `ropeTurnTable(ropeInvFreq(config))`, uploaded by `uploadRopeTable`. */
  turns: GPUBuffer;
}

export interface RopeForwardArgs extends RopeShape {
  x: GPUBuffer;
  /** Output [tokens, heads, D]; omitted: x is rotated in place. */
  out?: GPUBuffer;
}

export interface RopeBackwardArgs extends RopeShape {
  dy: GPUBuffer;
  /** Input gradient [tokens, heads, D]; omitted: dy is turned into dx in place. */
  dx?: GPUBuffer;
}

/** Uploads the frequency table of `config` (u32 [rotDim/2, 2]) as a storage buffer owned by `owner`. */
export function uploadRopeTable(rt: GpuRuntime, owner: string, config: RopeConfig): GPUBuffer {
  return rt.memory.upload(owner, `rope-turns-${config.rotDim}`, ropeTurnTable(ropeInvFreq(config))).buffer;
}

function validate(s: RopeShape, tensors: [string, GPUBuffer | undefined][]): void {
  for (const [name, v] of Object.entries({ tokens: s.tokens, heads: s.heads, D: s.D, rotDim: s.rotDim })) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`rope: ${name} must be a non-negative integer, got ${v}`);
  }
  if (s.rotDim % 2 !== 0 || s.rotDim < 2 || s.rotDim > s.D)
    throw new RangeError(`rope: rotary dim ${s.rotDim} must be even, ≥ 2 and ≤ head dim ${s.D}`);
  const n = s.tokens * s.heads * s.D;
  for (const [name, buffer] of tensors) if (buffer) requireFloats(`rope ${name}`, buffer, n);
  requireFloats('rope positions', s.positions, s.tokens);
  requireFloats('rope turns', s.turns, s.rotDim);
}

async function record(
  rt: GpuRuntime,
  rec: Recorder,
  entryPoint: string,
  s: RopeShape,
  src: GPUBuffer,
  dst: GPUBuffer | undefined,
  tiles: RopeTiles,
): Promise<void> {
  validate(s, [
    ['input', src],
    ['output', dst],
  ]);
  if (s.tokens === 0 || s.heads === 0) return;
  const half = s.rotDim / 2;
  // Out of place, the pass-through dims are copied too: one extra lane per such dim.
  const lanes = dst ? half + (s.D - s.rotDim) : half;
  const pipeline = await rt.pipelines.get({
    shader: ROPE_SHADER,
    entryPoint: dst ? entryPoint : `${entryPoint}_inplace`,
    constants: { ...tiles },
  });
  const params = ROPE_SHADER.params.pack({
    tokens: s.tokens,
    heads: s.heads,
    head_dim: s.D,
    half_rot: half,
    lanes,
  });
  const buffers = dst ? [s.positions, s.turns, src, dst] : [s.positions, s.turns, src];
  rec.dispatch({
    label: dst ? entryPoint : `${entryPoint}_inplace`,
    pipeline,
    buffers,
    params,
    workgroups: deviceGrid(rt, Math.ceil((s.tokens * lanes) / tiles.WG)),
  });
}

/** y = rope(x) (into `out`, or in place when `out` is omitted). */
export function ropeForward(
  rt: GpuRuntime,
  rec: Recorder,
  a: RopeForwardArgs,
  tiles = DEFAULT_ROPE_TILES,
): Promise<void> {
  if (a.out === a.x) throw new Error('rope: for in place, omit `out` instead of passing x twice');
  return record(rt, rec, 'rope_forward', a, a.x, a.out, tiles);
}

/** dx = rope⁻¹(dy) (into `dx`, or in place in dy when `dx` is omitted). */
export function ropeBackward(
  rt: GpuRuntime,
  rec: Recorder,
  a: RopeBackwardArgs,
  tiles = DEFAULT_ROPE_TILES,
): Promise<void> {
  if (a.dx === a.dy) throw new Error('rope: for in place, omit `dx` instead of passing dy twice');
  return record(rt, rec, 'rope_backward', a, a.dy, a.dx, tiles);
}

export interface RopeQKArgs {
  tokens: number;
  H: number;
  Hkv: number;
  D: number;
  rotDim: number;
  positions: GPUBuffer;
  turns: GPUBuffer;
  q: GPUBuffer;
  k: GPUBuffer;
}

/** Rotates q [T, H, D] and k [T, Hkv, D] in place (two dispatches sharing positions and table). */
export async function ropeForwardQK(
  rt: GpuRuntime,
  rec: Recorder,
  a: RopeQKArgs,
  tiles = DEFAULT_ROPE_TILES,
): Promise<void> {
  const shape = { tokens: a.tokens, D: a.D, rotDim: a.rotDim, positions: a.positions, turns: a.turns };
  await ropeForward(rt, rec, { ...shape, heads: a.H, x: a.q }, tiles);
  await ropeForward(rt, rec, { ...shape, heads: a.Hkv, x: a.k }, tiles);
}

/** Turns dq and dk (gradients w.r.t. the rotated q and k) into gradients w.r.t. the unrotated ones, in place. */
export async function ropeBackwardQK(
  rt: GpuRuntime,
  rec: Recorder,
  a: Omit<RopeQKArgs, 'q' | 'k'> & { dq: GPUBuffer; dk: GPUBuffer },
  tiles = DEFAULT_ROPE_TILES,
): Promise<void> {
  const shape = { tokens: a.tokens, D: a.D, rotDim: a.rotDim, positions: a.positions, turns: a.turns };
  await ropeBackward(rt, rec, { ...shape, heads: a.H, dy: a.dq }, tiles);
  await ropeBackward(rt, rec, { ...shape, heads: a.Hkv, dy: a.dk }, tiles);
}
