/**
 * What a user reads when a run stops on an error: what happened and the way out. The run's checkpoints are always
 * kept, so every message ends in "resume" once the cause is dealt with.
 */
import { StorageQuotaError } from '../storage/quota.ts';
import type { EngineError } from './contract.ts';
import { toEngineError } from './runtime.ts';

export function trainingError(err: unknown): EngineError {
  if (err instanceof StorageQuotaError)
    return {
      kind: 'unknown',
      message: err.message,
      hint: 'Delete old runs, datasets or cached models, then press Resume: training continues from the last saved checkpoint.',
    };
  const e = toEngineError(
    err,
    'Press Resume to continue from the last saved checkpoint; if it repeats, change the settings.',
  );
  if (e.kind === 'out-of-memory')
    return {
      ...e,
      hint: `${e.hint} The run's checkpoints are kept: lower the micro-batch, the maximum length or the rank (or use a 4-bit base), then start a new run — or resume as is after closing other GPU-heavy tabs.`,
    };
  if (e.kind === 'device-lost')
    return { ...e, hint: `${e.hint} Press Resume to continue from the last saved checkpoint.` };
  return e;
}
