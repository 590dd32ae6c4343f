/**
 * Dispatch-size helpers shared by the kernel wrappers.
 *
 * A 1-D launch of `count` workgroups may exceed `maxComputeWorkgroupsPerDimension` (65535 by default:
 * 16.7M elements at 256 per workgroup, or one workgroup per row of 150k+ rows). `linearGrid` folds such a
 * launch into x·y workgroups; the shader rebuilds the linear id as `wid.x + wid.y * num_workgroups.x` and
 * skips ids ≥ count (the fold may overshoot by less than one row of x).
 */
import type { GpuRuntime } from '../gpu/runtime.ts';

export function linearGrid(count: number, maxPerDim: number): [number, number] {
  if (!Number.isInteger(count) || count < 0)
    throw new RangeError(`workgroup count must be a non-negative integer, got ${count}`);
  if (count <= maxPerDim) return [count, 1];
  const y = Math.ceil(count / maxPerDim);
  if (y > maxPerDim) throw new RangeError(`${count} workgroups exceed ${maxPerDim}² (the 2-D launch limit)`);
  return [Math.ceil(count / y), y];
}

/** `linearGrid` with the device's own per-dimension limit. */
export function deviceGrid(rt: GpuRuntime, count: number): [number, number] {
  return linearGrid(count, rt.device.limits.maxComputeWorkgroupsPerDimension);
}

/** Smallest power of two ≥ n (n ≥ 1). */
export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Throws unless `buffer` holds at least `floats` 4-byte elements. */
export function requireFloats(name: string, buffer: GPUBuffer, floats: number): void {
  if (buffer.size < floats * 4)
    throw new RangeError(
      `${name}: buffer of ${buffer.size} bytes is smaller than the ${floats} elements (${floats * 4} bytes) needed`,
    );
}
