/**
 * The dataset import as a worker calls it. The app's data worker (src/app/data/data.worker.ts) takes `WorkerInput`
 * from here; `importWorkerApi` is the same call in-process, which the tests use to check that inputs and results
 * survive structured cloning. Inputs are
 * `{ path, blob }` (Files clone into the worker without copying their bytes); the tokenizer
 * arrives as its parsed JSON files; progress comes back through a comlink-proxied callback.
 * Everything returned is plain data, so it crosses postMessage as a structured clone.
 */
import type { ImportSettingsInput } from '../schema/dataset.ts';
import { importDataset, type ImportProgress, type ImportResult } from './import.ts';
import type { BlobLike, UnreadableInput } from './inputs.ts';
import { ModelTokenizer, type TokenizerFiles } from './tokenizer.ts';

/** A file to read, or one the browser would not hand over (listed as skipped). */
export type WorkerInput = { path: string; blob: BlobLike } | UnreadableInput;

export const importWorkerApi = {
  async importDataset(
    inputs: WorkerInput[],
    settings: ImportSettingsInput,
    tokenizer: TokenizerFiles | null,
    onProgress?: (progress: ImportProgress) => void,
  ): Promise<ImportResult> {
    return importDataset(inputs, settings, {
      tokenizer: tokenizer ? new ModelTokenizer(tokenizer) : null,
      onProgress: onProgress ? throttle(onProgress, 100) : undefined,
    });
  },
};

export type ImportWorkerApi = typeof importWorkerApi;

/** At most one call per `ms` (the last one of a phase always goes through). */
function throttle(fn: (p: ImportProgress) => void, ms: number): (p: ImportProgress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last >= ms || p.done >= p.total) {
      last = now;
      fn(p);
    }
  };
}
