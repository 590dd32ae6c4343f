/**
 * The ONNX worker: onnxruntime-web (WebGPU, or WASM where WebGPU is missing) for the Try page's "Run it with
 * onnxruntime-web" check, apart from the engine worker so neither waits for the other and the page never blocks.
 * Exposed with comlink; see contract-onnx.ts.
 */
// First: zod must be jitless before any schema is built (CSP without eval).
import '../schema/jitless.ts';
import { expose } from 'comlink';
import { onnxApi } from './onnx-check.ts';

expose(onnxApi);
