/**
 * onnxruntime-web as the app loads it: the WebGPU build (`onnxruntime-web/webgpu`, whose one WASM binary runs both
 * the WebGPU and the WASM execution providers), with that binary served from the app's own origin as a Vite asset
 * (`?url`, no CDN), so it loads under a CSP of `script-src 'self' 'wasm-unsafe-eval'`.
 *
 * One WASM thread: the bundled build would start its thread pool from its own script URL, which inside the app's
 * worker chunk is the worker itself; the WebGPU provider does the heavy work on the GPU anyway.
 */
import * as ort from 'onnxruntime-web/webgpu';
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import type { OnnxBackend } from './contract-onnx.ts';

ort.env.wasm.wasmPaths = { wasm: wasmUrl };
ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;
ort.env.logLevel = 'error';

export { ort };

export interface OpenedSession {
  session: ort.InferenceSession;
  backend: OnnxBackend;
}

/** The model's external data files, by the names its tensors point at. */
export type ExternalData = { path: string; data: Uint8Array }[];

async function create(
  model: Uint8Array,
  externalData: ExternalData,
  ep: 'webgpu' | 'wasm',
): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model, {
    executionProviders: [ep],
    graphOptimizationLevel: 'all',
    // Errors only: onnxruntime's warnings (e.g. shape ops placed on the CPU on purpose) would read as page errors.
    logSeverityLevel: 3,
    ...(externalData.length > 0 ? { externalData } : {}),
  });
}

/**
 * A session on the WebGPU execution provider where this browser has WebGPU, else on WASM; `backend` says which ran
 * and why WebGPU did not. `prefer: 'wasm'` skips WebGPU.
 */
export async function openSession(
  file: string,
  model: Uint8Array,
  externalData: ExternalData,
  prefer: 'webgpu' | 'wasm' = 'webgpu',
): Promise<OpenedSession> {
  let fallbackReason: string | undefined;
  if (prefer === 'wasm') fallbackReason = 'WASM was asked for';
  else if (typeof navigator === 'undefined' || !('gpu' in navigator) || !navigator.gpu)
    fallbackReason = 'this browser has no WebGPU';
  else {
    try {
      return { session: await create(model, externalData, 'webgpu'), backend: { ep: 'webgpu', file } };
    } catch (err) {
      fallbackReason = `WebGPU refused it: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  return { session: await create(model, externalData, 'wasm'), backend: { ep: 'wasm', file, fallbackReason } };
}
