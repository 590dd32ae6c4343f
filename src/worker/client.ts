/** Starts the engine worker and returns its typed comlink proxy. Browser only. */
import { type Remote, wrap } from 'comlink';
import type { EngineApi } from './contract.ts';

export interface EngineClient {
  api: Remote<EngineApi>;
  terminate(): void;
}

export function startEngine(): EngineClient {
  const worker = new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module', name: 'engine' });
  return { api: wrap<EngineApi>(worker), terminate: () => worker.terminate() };
}
