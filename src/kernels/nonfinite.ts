/**
 * The non-finite scan (shaders/nonfinite.wgsl): counts the NaN, ±Inf and absurdly large (|x| ≥ 2^40) values in GPU
 * arrays of f32, f16 or bf16 values and finds the first one, for many arrays in one submit and one readback. The loader scans every weight it
 * uploads (dense data, and the f16 / f32 scales of block formats, whose quants are integers) and refuses a
 * checkpoint that holds any, naming the tensor.
 */
import source from '../../shaders/nonfinite.wgsl';
import { readU32, writeBuffer } from '../gpu/readback.ts';
import type { Recorder } from '../gpu/recorder.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { defineShader } from '../gpu/shader.ts';
import { linearGrid } from './grid.ts';

export const NONFINITE_SHADER = defineShader('nonfinite', source, {
  n_words: 'u32',
  halves: 'u32',
  exp_shift: 'u32',
  exp_mask: 'u32',
  exp_limit: 'u32',
  slot: 'u32',
  first_element: 'u32',
});

export type ScanType = 'f32' | 'f16' | 'bf16';
/** Exponent field [shift, mask, limit]: a field ≥ limit is NaN, ±Inf or |x| ≥ 2^40 (f16 cannot get that large). */
const EXPONENT: Record<ScanType, [number, number, number]> = {
  f32: [23, 0xff, 127 + 40],
  bf16: [7, 0xff, 127 + 40],
  f16: [10, 0x1f, 0x1f],
};

export interface ScanRequest {
  /** Reported back with the result (e.g. the tensor's name). */
  label: string;
  buffer: GPUBuffer;
  type: ScanType;
  /** Values in the array (an f16 array of odd length has a zero pad half, which is finite). */
  count: number;
}

export interface ScanResult {
  label: string;
  /** Non-finite values found. */
  nonFinite: number;
  /** Index of the first one, or -1. */
  first: number;
}

const WG = 256;

/**
 * One scan session: requests are recorded into the caller's recorders (so a transient buffer, e.g. a quantizer's
 * staging copy, is scanned in the same submit that uses it), all into one result buffer, read back once.
 */
export class NonFiniteScan {
  private readonly requests: ScanRequest[] = [];
  private readonly result: GPUBuffer;
  private pipeline: GPUComputePipeline | null = null;

  constructor(
    private readonly rt: GpuRuntime,
    /** Most requests this session will record. */
    private readonly capacity: number,
    /** Largest range bound at once (default: the device's binding limit; tests use less to split arrays). */
    private readonly maxRangeBytes?: number,
  ) {
    this.result = rt.memory.create('nonfinite-scan', 'result', Math.max(1, capacity) * 8).buffer;
    writeBuffer(
      rt.device,
      this.result,
      Uint32Array.from({ length: Math.max(1, capacity) * 2 }, (_, i) => (i % 2 === 0 ? 0 : 0xffffffff)),
    );
  }

  /** Records the scan of `r` into `rec` (before the buffer is destroyed: it runs when `rec` is submitted). */
  async record(rec: Recorder, r: ScanRequest): Promise<void> {
    if (this.requests.length >= this.capacity) throw new Error(`non-finite scan: more than ${this.capacity} arrays`);
    const slot = this.requests.length;
    this.requests.push(r);
    this.pipeline ??= await this.rt.pipelines.get({
      shader: NONFINITE_SHADER,
      entryPoint: 'nonfinite_count',
      constants: { WG },
    });
    const limits = this.rt.device.limits;
    // Ranges of at most the binding limit, starting at offsets the device accepts.
    const align = limits.minStorageBufferOffsetAlignment;
    const maxRange =
      Math.floor(Math.min(this.maxRangeBytes ?? Infinity, limits.maxStorageBufferBindingSize) / align) * align;
    const perWord = r.type === 'f32' ? 1 : 2;
    const totalBytes = Math.ceil(r.count / perWord) * 4;
    for (let byte = 0; byte < totalBytes; byte += maxRange) {
      const size = Math.min(maxRange, totalBytes - byte);
      const words = size / 4;
      rec.dispatch({
        label: `nonfinite ${r.label}`,
        pipeline: this.pipeline,
        buffers: [{ buffer: r.buffer, offset: byte, size }, this.result],
        params: NONFINITE_SHADER.params.pack({
          n_words: words,
          halves: perWord === 2 ? 1 : 0,
          exp_shift: EXPONENT[r.type][0],
          exp_mask: EXPONENT[r.type][1],
          exp_limit: EXPONENT[r.type][2],
          slot,
          first_element: (byte / 4) * perWord,
        }),
        workgroups: linearGrid(Math.ceil(words / WG), limits.maxComputeWorkgroupsPerDimension),
      });
    }
  }

  /** Reads the results back (every recorder holding scans must have been submitted). */
  async results(): Promise<ScanResult[]> {
    if (this.requests.length === 0) return [];
    const out = await readU32(this.rt.device, this.result, this.requests.length * 2);
    return this.requests.map((r, i) => {
      const n = out[2 * i]!;
      return { label: r.label, nonFinite: n, first: n > 0 ? out[2 * i + 1]! : -1 };
    });
  }

  destroy(): void {
    this.rt.memory.destroy(this.result);
  }
}

/** Scans every request on the GPU in one submit; returns one result per request, in order. */
export async function scanNonFinite(
  rt: GpuRuntime,
  requests: readonly ScanRequest[],
  maxRangeBytes?: number,
): Promise<ScanResult[]> {
  if (requests.length === 0) return [];
  const scan = new NonFiniteScan(rt, requests.length, maxRangeBytes);
  try {
    const rec = rt.recorder('nonfinite scan');
    for (const r of requests) await scan.record(rec, r);
    await rec.submit();
    return await scan.results();
  } finally {
    scan.destroy();
  }
}

/** The same scan on the CPU (the reference the GPU kernel is tested against): bit patterns, no float arithmetic. */
export function scanNonFiniteBits(
  bits: Uint32Array | Uint16Array,
  type: ScanType,
): { nonFinite: number; first: number } {
  const [shift, mask, limit] = EXPONENT[type];
  let nonFinite = 0;
  let first = -1;
  for (let i = 0; i < bits.length; i++) {
    if (((bits[i]! >>> shift) & mask) >= limit) {
      nonFinite++;
      if (first < 0) first = i;
    }
  }
  return { nonFinite, first };
}
