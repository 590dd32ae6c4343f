/** Starts the validation worker and returns its typed comlink proxy. Browser only. */
import { type Remote, wrap } from 'comlink';
import type { ValidateWorkerApi } from './worker.ts';

export interface ValidateClient {
  api: Remote<ValidateWorkerApi>;
  terminate(): void;
}

export function startValidateWorker(): ValidateClient {
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'validate' });
  return { api: wrap<ValidateWorkerApi>(worker), terminate: () => worker.terminate() };
}
