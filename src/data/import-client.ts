/**
 * Main-thread side of the import worker:
 *
 *   const worker = startImportWorker();
 *   const result = await worker.importDataset(await filesFromDataTransfer(e.dataTransfer.items),
 *                                             settings, tokenizerFiles, (p) => showProgress(p));
 *   worker.terminate();
 */
import { proxy, wrap } from 'comlink';
import type { ImportSettingsInput } from '../schema/dataset.ts';
import type { ImportProgress, ImportResult } from './import.ts';
import type { ImportWorkerApi, WorkerInput } from './import-worker-api.ts';
import type { TokenizerFiles } from './tokenizer.ts';

export interface ImportWorkerHandle {
  importDataset(
    inputs: WorkerInput[],
    settings: ImportSettingsInput,
    tokenizer: TokenizerFiles | null,
    onProgress?: (progress: ImportProgress) => void,
  ): Promise<ImportResult>;
  terminate(): void;
}

export function startImportWorker(): ImportWorkerHandle {
  const worker = new Worker(new URL('./import-worker.ts', import.meta.url), { type: 'module', name: 'dataset-import' });
  const api = wrap<ImportWorkerApi>(worker);
  return {
    importDataset: (inputs, settings, tokenizer, onProgress) =>
      api.importDataset(inputs, settings, tokenizer, onProgress ? proxy(onProgress) : undefined),
    terminate: () => worker.terminate(),
  };
}
