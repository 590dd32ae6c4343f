/** Output buffers are filled with NaN before a kernel runs, so an element the kernel forgets to write fails the test. */
import type { GpuRuntime } from '../../src/gpu/runtime.ts';

/** A storage buffer of `count` f32 values, all NaN. */
export function poisonedF32(rt: GpuRuntime, label: string, count: number): GPUBuffer {
  return rt.uploadF32('test-output', label, new Float32Array(count).fill(Number.NaN));
}
