/** Error scopes around a piece of GPU work: any validation, out-of-memory or internal error becomes a typed GpuError. */
import { fromGpuError } from './errors.ts';

const FILTERS: GPUErrorFilter[] = ['validation', 'out-of-memory', 'internal'];

export async function withErrorScopes<T>(device: GPUDevice, what: string, work: () => T | Promise<T>): Promise<T> {
  for (const filter of FILTERS) device.pushErrorScope(filter);
  let result: T;
  let thrown: unknown;
  try {
    result = await work();
  } catch (err) {
    thrown = err;
  }
  // Scopes pop in reverse order of pushing; report the first error found (out-of-memory before validation).
  const popped: (GPUError | null)[] = [];
  for (let i = FILTERS.length - 1; i >= 0; i--) popped[i] = await device.popErrorScope();
  if (thrown !== undefined) throw thrown;
  for (const filter of ['out-of-memory', 'internal', 'validation'] as const) {
    const error = popped[FILTERS.indexOf(filter)];
    if (error) throw fromGpuError(error, filter, what);
  }
  return result!;
}
