/**
 * Row-chunked dispatch of a linear-layer matmul whose weight W [M, K] may exceed one storage binding
 * (`maxStorageBufferBindingSize`): an embedding or LM head can be 150k × 4096 values.
 *
 * Every array of a weight is row-major, so rows [r0, r0 + n) are one byte range per array. The plan cuts W into
 * chunks of rows whose ranges each fit a binding and start at a multiple of `minStorageBufferOffsetAlignment`,
 * and records one dispatch per chunk with bindings at those offsets. Forward: chunk c fills columns
 * [r0, r0 + n) of y (and reads bias there). Input gradient: chunk c adds dy[:, r0 : r0 + n] · W[r0 : r0 + n, :]
 * into dx (the first chunk overwrites unless the caller accumulates). Only W is split; x, y, dy and dx must each
 * fit one binding.
 *
 * shaders/matmul_dense.wgsl and shaders/matmul_quant.wgsl share this Params layout (shaders/common/weight_matmul.wgsl)
 * and binding order: a, <weight arrays...>, out, [bias].
 */
import type { Binding, Recorder } from '../gpu/recorder.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import type { ShaderSource } from '../gpu/shader.ts';
import { type BaseWeight, type WeightArray, validateWeight, weightArrays } from './weights.ts';

/** The Params struct of shaders/common/weight_matmul.wgsl, for `defineShader`. */
export const WEIGHT_MATMUL_PARAMS = {
  rows: 'u32',
  cols: 'u32',
  inner: 'u32',
  k: 'u32',
  m_count: 'u32',
  a_row: 'u32',
  a_offset: 'u32',
  out_stride: 'u32',
  out_offset: 'u32',
  accumulate: 'u32',
  has_bias: 'u32',
} as const;

export type WeightMatmulShader = ShaderSource<typeof WEIGHT_MATMUL_PARAMS>;

export interface BindingLimits {
  /** Largest byte size of one storage binding. */
  maxBindingBytes: number;
  /** Binding offsets must be multiples of this. */
  offsetAlignment: number;
}

/** The device's limits, with an optional smaller `maxBindingBytes` (tests use it to exercise the split path). */
export function bindingLimits(rt: GpuRuntime, maxBindingBytes?: number): BindingLimits {
  const device = rt.device.limits.maxStorageBufferBindingSize;
  return {
    maxBindingBytes: maxBindingBytes === undefined ? device : Math.min(maxBindingBytes, device),
    offsetAlignment: rt.device.limits.minStorageBufferOffsetAlignment,
  };
}

export interface RowChunk {
  /** First row of W in this chunk. */
  row0: number;
  rows: number;
  /** One binding per weight array, in the order given. */
  bindings: Binding[];
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const lcm = (a: number, b: number): number => (a / gcd(a, b)) * b;
const ceil4 = (n: number): number => Math.ceil(n / 4) * 4;

/** Splits `rows` rows of a weight's arrays into chunks that each fit one binding (a single chunk when all fit). */
export function planRowChunks(arrays: WeightArray[], rows: number, limits: BindingLimits, where: string): RowChunk[] {
  const { maxBindingBytes, offsetAlignment } = limits;
  const binding = (a: WeightArray, row0: number, n: number): Binding => ({
    buffer: a.buffer,
    offset: row0 * a.rowBytes,
    size: ceil4(n * a.rowBytes),
  });
  if (arrays.every((a) => ceil4(rows * a.rowBytes) <= maxBindingBytes)) {
    return [{ row0: 0, rows, bindings: arrays.map((a) => binding(a, 0, rows)) }];
  }
  // Chunks start at multiples of `step` rows, so every array's offset is a multiple of the alignment.
  const step = arrays.reduce((s, a) => lcm(s, offsetAlignment / gcd(a.rowBytes, offsetAlignment)), 1);
  const fitRows = Math.min(...arrays.map((a) => Math.floor(maxBindingBytes / a.rowBytes)));
  const perChunk = Math.floor(fitRows / step) * step;
  if (perChunk === 0) {
    const widest = Math.max(...arrays.map((a) => a.rowBytes));
    throw new RangeError(
      `${where}: cannot split the weight into bindings of at most ${maxBindingBytes} bytes: chunks must start every ${step} rows ` +
        `(offset alignment ${offsetAlignment}) and ${step} rows take ${step * widest} bytes`,
    );
  }
  const chunks: RowChunk[] = [];
  for (let row0 = 0; row0 < rows; row0 += perChunk) {
    const n = Math.min(perChunk, rows - row0);
    chunks.push({ row0, rows: n, bindings: arrays.map((a) => binding(a, row0, n)) });
  }
  return chunks;
}

export interface WeightMatmulTiles {
  WG_X: number;
  WG_Y: number;
  TILE_K: number;
}

export interface WeightMatmulOptions {
  tiles?: WeightMatmulTiles;
  /** Upper bound on one binding's bytes, below the device limit (tests use it to force the split path). */
  maxBindingBytes?: number;
}

export function checkTiles(where: string, t: WeightMatmulTiles): void {
  for (const [k, v] of Object.entries(t))
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${where}: tile ${k} must be a positive integer, got ${v}`);
}

/** Checks that K, M agree with the weight (catches a transposed or mismatched weight at record time). */
export function checkShape(where: string, w: { rows: number; cols: number }, K: number, M: number): void {
  if (w.rows !== M || w.cols !== K)
    throw new RangeError(`${where}: weight is [${w.rows}, ${w.cols}] but the call says W [M=${M}, K=${K}]`);
}

export interface WeightMatmulCall {
  shader: WeightMatmulShader;
  entryPoint: string;
  direction: 'forward' | 'backward_input';
  /** forward: x [N, K]; backward_input: dy [N, M]. */
  a: GPUBuffer;
  /** forward: y [N, M]; backward_input: dx [N, K]. */
  out: GPUBuffer;
  bias?: GPUBuffer;
  N: number;
  K: number;
  M: number;
  /** backward_input: add into dx instead of overwriting it. */
  accumulate?: boolean;
  arrays: WeightArray[];
  limits: BindingLimits;
  tiles: WeightMatmulTiles;
}

/** Records one dispatch per row chunk of W. */
export async function recordWeightMatmul(rt: GpuRuntime, rec: Recorder, c: WeightMatmulCall): Promise<void> {
  const chunks = planRowChunks(c.arrays, c.M, c.limits, c.entryPoint);
  if (c.N === 0) return;
  const pipeline = await rt.pipelines.get({ shader: c.shader, entryPoint: c.entryPoint, constants: { ...c.tiles } });
  const forward = c.direction === 'forward';
  chunks.forEach((chunk, i) => {
    const cols = forward ? chunk.rows : c.K;
    const params = c.shader.params.pack({
      rows: c.N,
      cols,
      inner: forward ? c.K : chunk.rows,
      k: c.K,
      m_count: chunk.rows,
      a_row: forward ? c.K : c.M,
      a_offset: forward ? 0 : chunk.row0,
      out_stride: forward ? c.M : c.K,
      out_offset: forward ? chunk.row0 : 0,
      accumulate: !forward && (i > 0 || c.accumulate) ? 1 : 0,
      has_bias: forward && c.bias ? 1 : 0,
    });
    const buffers: Binding[] = [c.a, ...chunk.bindings, c.out];
    // The forward entry points declare the bias binding; without a bias it is never read.
    if (forward) buffers.push(c.bias ?? rt.unusedBinding);
    rec.dispatch({
      label: chunks.length > 1 ? `${c.entryPoint}[rows ${chunk.row0}+${chunk.rows}]` : c.entryPoint,
      pipeline,
      buffers,
      params,
      workgroups: [Math.ceil(cols / (4 * c.tiles.WG_X)), Math.ceil(c.N / (4 * c.tiles.WG_Y))],
    });
  });
}

/** A shader family whose entry points are `matmul_<format>_forward` / `matmul_<format>_backward_input`. */
export interface WeightMatmulKernel {
  shader: WeightMatmulShader;
  defaultTiles: WeightMatmulTiles;
  checkTiles(where: string, t: WeightMatmulTiles): void;
}

export interface WeightForwardArgs<W extends BaseWeight> {
  x: GPUBuffer;
  w: W;
  y: GPUBuffer;
  bias?: GPUBuffer;
  N: number;
  K: number;
  M: number;
}

export interface WeightBackwardInputArgs<W extends BaseWeight> {
  dy: GPUBuffer;
  w: W;
  dx: GPUBuffer;
  N: number;
  K: number;
  M: number;
  accumulate?: boolean;
}

function prepare(
  rt: GpuRuntime,
  kernel: WeightMatmulKernel,
  w: BaseWeight,
  direction: WeightMatmulCall['direction'],
  K: number,
  M: number,
  opts: WeightMatmulOptions,
) {
  const entryPoint = `matmul_${w.format}_${direction}`;
  validateWeight(w, entryPoint);
  checkShape(entryPoint, w, K, M);
  const tiles = opts.tiles ?? kernel.defaultTiles;
  kernel.checkTiles(entryPoint, tiles);
  return {
    shader: kernel.shader,
    entryPoint,
    direction,
    arrays: weightArrays(w),
    limits: bindingLimits(rt, opts.maxBindingBytes),
    tiles,
  };
}

/** y[N, M] = x[N, K] · W[M, K]ᵀ (+ b) for a weight of the kernel's formats; bad arguments reject. */
export async function weightMatmulForward<W extends BaseWeight>(
  rt: GpuRuntime,
  rec: Recorder,
  kernel: WeightMatmulKernel,
  a: WeightForwardArgs<W>,
  opts: WeightMatmulOptions = {},
): Promise<void> {
  const p = prepare(rt, kernel, a.w, 'forward', a.K, a.M, opts);
  return recordWeightMatmul(rt, rec, {
    ...p,
    a: a.x,
    out: a.y,
    ...(a.bias ? { bias: a.bias } : {}),
    N: a.N,
    K: a.K,
    M: a.M,
  });
}

/** dx[N, K] (+)= dy[N, M] · W[M, K] for a weight of the kernel's formats. */
export async function weightMatmulBackwardInput<W extends BaseWeight>(
  rt: GpuRuntime,
  rec: Recorder,
  kernel: WeightMatmulKernel,
  a: WeightBackwardInputArgs<W>,
  opts: WeightMatmulOptions = {},
): Promise<void> {
  const p = prepare(rt, kernel, a.w, 'backward_input', a.K, a.M, opts);
  return recordWeightMatmul(rt, rec, {
    ...p,
    a: a.dy,
    out: a.dx,
    N: a.N,
    K: a.K,
    M: a.M,
    accumulate: Boolean(a.accumulate),
  });
}
