/** The kinds of failure the engine reports to the UI, each with a message and a hint that says what to do. */
import { z } from 'zod';

/** What went wrong with the GPU (src/gpu/errors.ts' GpuError carries one). */
export const GPU_ERROR_KINDS = [
  'unavailable',
  'no-adapter',
  'validation',
  'out-of-memory',
  'internal',
  'device-lost',
] as const;
export type GpuErrorKind = (typeof GPU_ERROR_KINDS)[number];

/** An error as it crosses the worker boundary and as a failed run keeps it; 'unknown' for anything not the GPU's. */
export const EngineErrorSchema = z.object({
  kind: z.enum([...GPU_ERROR_KINDS, 'unknown']),
  message: z.string(),
  hint: z.string(),
});
export type EngineError = z.infer<typeof EngineErrorSchema>;
