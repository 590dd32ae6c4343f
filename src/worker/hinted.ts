/**
 * Errors that carry their own hint (what the user can do), for the chat, export and local-import modules: thrown
 * where the cause is known, turned into a failed Result at the API boundary with that hint instead of a generic one.
 * No worker-only imports, so the pure export code and its Node tests can use it.
 */
import { GpuError } from '../gpu/errors.ts';
import type { EngineError, Result } from './contract.ts';

export class HintedError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'HintedError';
  }
}

/** The error as the UI shows it: GPU errors and HintedErrors keep their hint, anything else gets `fallbackHint`. */
export function hintedError(err: unknown, fallbackHint: string): EngineError {
  if (err instanceof GpuError)
    return { kind: err.kind, message: err.message.replace(err.hint, '').trim(), hint: err.hint };
  const message = err instanceof Error ? err.message : String(err);
  return { kind: 'unknown', message, hint: err instanceof HintedError ? err.hint : fallbackHint };
}

/** Runs `fn`, turning any exception into a failed Result (see hintedError). */
export async function hintedAttempt<T>(fn: () => Promise<T>, fallbackHint: string): Promise<Result<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    return { ok: false, error: hintedError(err, fallbackHint) };
  }
}
