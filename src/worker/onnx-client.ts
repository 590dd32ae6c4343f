/** Starts the ONNX worker (onnxruntime-web) and returns its typed comlink proxy. Browser only. */
import { type Remote, wrap } from 'comlink';
import type { OnnxApi } from './contract-onnx.ts';

export interface OnnxClient {
  api: Remote<OnnxApi>;
  terminate(): void;
}

export function startOnnxWorker(): OnnxClient {
  const worker = new Worker(new URL('./onnx.worker.ts', import.meta.url), { type: 'module', name: 'onnx' });
  return { api: wrap<OnnxApi>(worker), terminate: () => worker.terminate() };
}
