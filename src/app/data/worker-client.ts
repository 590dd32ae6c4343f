/**
 * Page side of the Data worker. `terminate()` stops the worker at once (Cancel) and rejects every
 * call still waiting with a CancelledError; a worker that fails to start rejects them with the
 * browser's message.
 */
import { proxy, type Remote, wrap } from 'comlink';
import type { WorkerInput } from '../../data/import-worker-api.ts';
import type { ImportProgress } from '../../data/import.ts';
import type { DatasetMeta, ImportSettingsInput } from '../../schema/dataset.ts';
import type { DataWorkerApi, ExportedFile, ImportSummary, TokenizerSource } from './worker-api.ts';

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

export class DataWorker {
  private readonly worker: Worker;
  private readonly api: Remote<DataWorkerApi>;
  private readonly waiting = new Set<(err: Error) => void>();
  private ended = false;

  constructor() {
    this.worker = new Worker(new URL('./data.worker.ts', import.meta.url), { type: 'module', name: 'datasets' });
    this.api = wrap<DataWorkerApi>(this.worker);
    this.worker.addEventListener('error', (e) => {
      e.preventDefault();
      this.fail(new Error(`The dataset worker stopped: ${e.message || 'it could not be started'}.`));
    });
  }

  /** Runs `call` and rejects early when the worker is terminated or crashes. */
  private run<T>(call: Promise<T>): Promise<T> {
    if (this.ended) return Promise.reject(new CancelledError());
    return new Promise<T>((resolve, reject) => {
      this.waiting.add(reject);
      call.then(resolve, reject).finally(() => this.waiting.delete(reject));
    });
  }

  private fail(err: Error): void {
    for (const reject of this.waiting) reject(err);
    this.waiting.clear();
  }

  importFiles(
    inputs: WorkerInput[],
    settings: ImportSettingsInput,
    tokenizer: TokenizerSource | null,
    onProgress: (p: ImportProgress) => void,
  ): Promise<ImportSummary> {
    return this.run(this.api.importFiles(inputs, settings, tokenizer, proxy(onProgress)));
  }

  save(name: string): Promise<DatasetMeta> {
    return this.run(this.api.save(name));
  }

  exportJsonl(id: string): Promise<ExportedFile> {
    return this.run(this.api.exportJsonl(id));
  }

  terminate(): void {
    if (this.ended) return;
    this.ended = true;
    this.worker.terminate();
    this.fail(new CancelledError());
  }
}
