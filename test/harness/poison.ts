/**
 * Output buffers for kernel tests: filled with NaN before a kernel runs, so an element the kernel forgets to write
 * fails the test, and followed by a guard band of GUARD_FLOATS words holding GUARD_BITS, which the kernel must leave
 * untouched, so a write past the end of the output (a dispatch that covers more than the shape, a wrong stride, an
 * index that wrapped below zero) fails too.
 *
 * `rt.readF32` of such a buffer checks the band (bit for bit) and returns the output part only, so tests read their
 * outputs as before. The band is behind the output: a band in front would need every wrapper to take binding offsets.
 */
import type { GpuRuntime } from '../../src/gpu/runtime.ts';

/** Words of guard band after every output (one workgroup of 256 writing past the end lands in it). */
export const GUARD_FLOATS = 256;
/** The guard word: a finite f32 (≈ -6.3e18) no kernel computes by accident; compared as bits. */
export const GUARD_BITS = 0xdeadbeef;

const guarded = new WeakMap<GPUBuffer, { label: string; count: number }>();
const checkedRuntimes = new WeakSet<GpuRuntime>();

/** The first word of the band after `count` that is not GUARD_BITS, or -1. */
export function guardBreach(words: Uint32Array, count: number): number {
  for (let i = count; i < count + GUARD_FLOATS; i++) if (words[i] !== GUARD_BITS) return i;
  return -1;
}

/** Makes `rt.readF32` check the band of a guarded buffer and return its output part. */
function checkReads(rt: GpuRuntime): void {
  if (checkedRuntimes.has(rt)) return;
  checkedRuntimes.add(rt);
  const read = rt.readF32.bind(rt);
  rt.readF32 = async (buffer: GPUBuffer, count?: number): Promise<Float32Array> => {
    const g = guarded.get(buffer);
    if (!g) return read(buffer, count);
    const all = await read(buffer, g.count + GUARD_FLOATS);
    const words = new Uint32Array(all.buffer, all.byteOffset, all.length);
    const at = guardBreach(words, g.count);
    if (at >= 0) {
      throw new Error(
        `${g.label}: the kernel wrote past the end of its output of ${g.count} floats: guard word ${at - g.count} ` +
          `(element ${at}) holds ${all[at]} (0x${words[at]!.toString(16)})`,
      );
    }
    return all.slice(0, count ?? g.count);
  };
}

/** A storage buffer of `count` f32 values, all NaN, followed by the guard band. */
export function poisonedF32(rt: GpuRuntime, label: string, count: number): GPUBuffer {
  const data = new Float32Array(count + GUARD_FLOATS).fill(Number.NaN);
  new Uint32Array(data.buffer, count * 4, GUARD_FLOATS).fill(GUARD_BITS);
  const buffer = rt.uploadF32('test-output', label, data);
  guarded.set(buffer, { label, count });
  checkReads(rt);
  return buffer;
}
