/**
 * Uploads of tensors that must be converted on the host, done in slabs of rows so the converted copy never exceeds
 * `slabBytes` (default 16 MiB of f32) whatever the tensor's size: a 128k × 4096 Q4_K embedding table would otherwise
 * need 2 GiB of f32 on the host.
 *   toDenseBySlabs     stored rows → f32 values → f32 / f16 / bf16 bytes, written into the weight's buffer
 *   quantizeBySlabs    stored rows → f32 values → a staging buffer → GPU quantizer → copied into the weight's arrays
 * Slabs hold an even number of rows, so every slab starts at a 4-byte-aligned offset in every array (f16 rows and
 * the f16 scales of q8_0 / q4_0 rows are 2-byte multiples).
 */
import { writeBuffer } from '../gpu/readback.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import type { NonFiniteScan } from '../kernels/nonfinite.ts';
import { type QuantizeOptions, quantizeToNewWeight } from '../kernels/quantize.ts';
import {
  DENSE_BYTES,
  type DenseWeight,
  type QuantWeight,
  type QuantizerFormat,
  createQuantWeight,
  destroyWeight,
  validateWeight,
  weightArrays,
} from '../kernels/weights.ts';
import type { StoredType } from './checkpoint.ts';
import { type HostMeter, encodeDense, rowSlice, storedRowBytes, storedToF32 } from './host-tensors.ts';

export const DEFAULT_SLAB_BYTES = 16 * 2 ** 20;
/** GPU memory owner of the loader's temporary buffers (empty after every load). */
export const STAGING_OWNER = 'loader-staging';

export interface SlabContext {
  rt: GpuRuntime;
  owner: string;
  meter: HostMeter;
  /** Upper bound on the f32 bytes of one slab (tests use a small one to exercise several slabs). */
  slabBytes?: number;
  quantize?: QuantizeOptions;
  /** Where the quantizer's f32 sources are scanned for NaN / ±Inf (the loader's scan). */
  scan?: NonFiniteScan;
}

export interface StoredRows {
  label: string;
  stored: StoredType;
  /** rows × cols values as stored, row-major. */
  bytes: Uint8Array;
  rows: number;
  cols: number;
}

function slabRows(cols: number, slabBytes = DEFAULT_SLAB_BYTES): number {
  return Math.max(2, Math.floor(slabBytes / (4 * cols) / 2) * 2);
}

function* slabs(t: StoredRows, slabBytes?: number): Generator<{ r0: number; n: number; bytes: Uint8Array }> {
  const per = slabRows(t.cols, slabBytes);
  const rowBytes = storedRowBytes(t.stored, t.cols);
  for (let r0 = 0; r0 < t.rows; r0 += per) {
    const n = Math.min(per, t.rows - r0);
    yield { r0, n, bytes: rowSlice(t.bytes, rowBytes, r0, n) };
  }
}

/** A dense weight converted on the host (dequantized blocks, or another dense format), slab by slab. */
export function toDenseBySlabs(c: SlabContext, t: StoredRows, format: 'f32' | 'f16' | 'bf16'): DenseWeight {
  const rowBytes = t.cols * DENSE_BYTES[format];
  const w: DenseWeight = {
    format,
    rows: t.rows,
    cols: t.cols,
    data: c.rt.memory.create(c.owner, t.label, t.rows * rowBytes).buffer,
  };
  try {
    for (const s of slabs(t, c.slabBytes)) {
      const values = c.meter.hold(storedToF32(t.stored, s.bytes, s.n * t.cols));
      const encoded = format === 'f32' ? encodeDense('f32', values) : c.meter.hold(encodeDense(format, values));
      writeBuffer(c.rt.device, w.data, encoded, s.r0 * rowBytes);
      c.meter.release(values.byteLength + (format === 'f32' ? 0 : encoded.byteLength));
    }
    validateWeight(w, t.label);
  } catch (err) {
    destroyWeight(c.rt, w);
    throw err;
  }
  return w;
}

/** A block weight quantized on the GPU from f32 values dequantized on the host, slab by slab. */
export async function quantizeBySlabs(c: SlabContext, t: StoredRows, format: QuantizerFormat): Promise<QuantWeight> {
  const { rt } = c;
  const w = createQuantWeight(rt, c.owner, t.label, format, t.rows, t.cols);
  const dst = weightArrays(w);
  const per = Math.min(slabRows(t.cols, c.slabBytes), t.rows);
  const staging = rt.memory.create(STAGING_OWNER, `${t.label}/f32`, per * t.cols * 4).buffer;
  try {
    for (const s of slabs(t, c.slabBytes)) {
      const values = c.meter.hold(storedToF32(t.stored, s.bytes, s.n * t.cols));
      writeBuffer(rt.device, staging, values);
      const rec = rt.recorder(`load ${t.label}[rows ${s.r0}+${s.n}]`);
      await c.scan?.record(rec, { label: t.label, buffer: staging, type: 'f32', count: s.n * t.cols });
      const part = await quantizeToNewWeight(
        rt,
        rec,
        {
          src: staging,
          srcFormat: 'f32',
          format,
          rows: s.n,
          cols: t.cols,
          owner: STAGING_OWNER,
          label: `${t.label}/slab`,
        },
        c.quantize,
      );
      weightArrays(part).forEach((a, i) =>
        rec.copy(a.buffer, dst[i]!.buffer, Math.ceil((s.n * a.rowBytes) / 4) * 4, 0, s.r0 * dst[i]!.rowBytes),
      );
      try {
        await rec.submit();
      } finally {
        destroyWeight(rt, part);
      }
      c.meter.release(values.byteLength);
    }
  } catch (err) {
    destroyWeight(rt, w);
    throw err;
  } finally {
    rt.memory.destroy(staging);
  }
  return w;
}
