/**
 * The typed contract between the UI and the ONNX worker (src/worker/onnx.worker.ts): the copies of ONNX exports kept
 * in this browser, and the "Run it with onnxruntime-web" check on the Try page. Structured-cloneable values only.
 */
import type { ModelRef, OnnxVariantChoice, Result } from './contract.ts';

/** An ONNX export of a run kept in the origin's private file system for the Try page's check. */
export interface OnnxCopyInfo {
  runId: string;
  runName: string;
  /** The checkpoint's step, and whether it was the run's latest or best one. */
  step: number;
  which: 'latest' | 'best';
  model: ModelRef;
  variants: OnnxVariantChoice[];
  adapterMode: 'merged' | 'separate';
  /** Bytes in the browser. */
  bytes: number;
  savedAt: string;
}

export interface OnnxCheckRequest {
  runId: string;
  variant: OnnxVariantChoice;
  prompt: string;
  system?: string;
  maxNewTokens: number;
}

/** The execution provider onnxruntime-web ran on, and why it is not WebGPU when it is not. */
export interface OnnxBackend {
  ep: 'webgpu' | 'wasm';
  file: string;
  /** Set when WebGPU was tried and refused (no adapter, an op it lacks): the WASM fallback ran instead. */
  fallbackReason?: string;
}

/** The answer so far; `backend` from the first event on, `done` once at the end. */
export interface OnnxCheckEvent {
  text: string;
  tokens: number;
  tokensPerSec: number;
  done: boolean;
  backend: OnnxBackend | null;
}

export interface OnnxApi {
  listCopies(): Promise<Result<OnnxCopyInfo[]>>;
  deleteCopy(runId: string): Promise<Result<null>>;
  check(req: OnnxCheckRequest, onEvent: (e: OnnxCheckEvent) => void): Promise<Result<OnnxBackend>>;
  cancelCheck(): void;
  /** Frees the kept session (its GPU and WASM memory). */
  release(): Promise<void>;
}
