/**
 * The one engine worker of the page, started on first use and shared by every section; and the ONNX worker
 * (onnxruntime-web, the Try page's check), started the first time it is needed.
 */
import { type EngineClient, startEngine } from '../worker/client.ts';
import { type OnnxClient, startOnnxWorker } from '../worker/onnx-client.ts';

let client: EngineClient | undefined;

export function engine(): EngineClient['api'] {
  client ??= startEngine();
  return client.api;
}

let onnxClient: OnnxClient | undefined;

export function onnxWorker(): OnnxClient['api'] {
  onnxClient ??= startOnnxWorker();
  return onnxClient.api;
}
