/**
 * Training runs, trying a model, and exporting, as they cross the worker boundary (all structured-cloneable).
 * Runs live in IndexedDB (store `runs`, metrics in `runMetrics`, checkpoints in `checkpoints`), so a reload finds them;
 * their shapes are zod schemas in src/schema/runs.ts and metrics.ts (re-exported here for the UI).
 */
import type { RunMetric } from '../schema/metrics.ts';
import type { GpuMemoryNow, ModelRef, RunInfo, RunStatus, TrainRequest } from '../schema/runs.ts';
import type { DenseDtype } from '../schema/model.ts';
import type { ExportFormat } from '../train/export-formats.ts';

export type { GpuMemoryNow, ModelRef, RunInfo, RunMetric, RunStatus, TrainRequest };

export type TrainEvent =
  | { type: 'run'; run: RunInfo }
  | {
      type: 'phase';
      phase:
        'loading-model' | 'preparing-data' | 'restoring' | 'training' | 'evaluating' | 'sampling' | 'checkpointing';
      detail?: string;
    }
  | { type: 'metric'; metric: RunMetric; etaMs: number | null; gpu: GpuMemoryNow }
  | { type: 'checkpoint'; step: number; bytes: number };

/** The export formats and their dtypes: src/train/export-formats.ts. */
export type { ExportFormat };
/** ONNX variants: model.onnx (f32), model_fp16.onnx, model_q4.onnx (MatMulNBits). */
export type OnnxVariantChoice = 'f32' | 'f16' | 'q4';
export type ExportDtype = DenseDtype;

export interface ExportRequest {
  runId: string;
  /** 'latest' checkpoint or the one with the best validation loss */
  which: 'latest' | 'best';
  format: ExportFormat;
  dtype: ExportDtype;
  /** ONNX only: the variants to write and whether the adapter is merged (default) or kept as MatMul branches. */
  onnx?: {
    variants: OnnxVariantChoice[];
    adapterMode: 'merged' | 'separate';
    /** Keep a copy in this browser for the Try page's onnxruntime-web check (default true). */
    keepCopy?: boolean;
  };
}

/** Progress of a merged-weights export: the file being written and its bytes. */
export interface ExportProgress {
  file: string;
  bytesDone: number;
  bytesTotal: number;
}

export interface ExportedFileInfo {
  name: string;
  bytes: number;
}

export interface ChatRequest {
  model: ModelRef;
  /** The run whose adapter answers (its latest checkpoint); null answers with the base model only. */
  runId: string | null;
  prompt: string;
  system?: string;
  maxNewTokens: number;
  temperature: number;
}

/** Text streamed by the side that produced it; `done` once per side. */
export type ChatEvent = { side: 'base' | 'adapter'; text: string; done: boolean; tokens: number; tokensPerSec: number };
