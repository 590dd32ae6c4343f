/**
 * Training runs, trying a model, and exporting, as they cross the worker boundary (all structured-cloneable).
 * Runs live in IndexedDB (store `runs`, metrics in `runMetrics`, checkpoints in `checkpoints`), so a reload finds them.
 */
import type { PresetName, TrainConfig, TrainConfigInput } from '../schema/train.ts';
import type { ExportFormat } from '../train/export-formats.ts';
import type { Sample } from '../train/samples.ts';
import type { ValidatorKind } from '../validate/types.ts';
import type { EngineError } from './contract.ts';

/** A model in the browser's cache: downloaded from the Hub, or a local folder copied in (repo `local/<name>`). */
export interface ModelRef {
  repo: string;
  revision: string;
}

export interface TrainRequest {
  model: ModelRef;
  datasetId: string;
  preset: PresetName | null;
  /** Overrides on top of the preset (the form's values). */
  config: TrainConfigInput;
  /** Validation prompts answered at each evaluation (0: none). */
  samples: number;
  /** Checks the sampled answers, when the data has a language with a validator. */
  validator: ValidatorKind | null;
  name?: string;
}

export type RunStatus = 'running' | 'paused' | 'stopped' | 'done' | 'failed' | 'interrupted';

export interface RunInfo {
  id: string;
  name: string;
  model: ModelRef;
  datasetId: string;
  datasetName: string;
  request: TrainRequest;
  /** The resolved configuration (preset + overrides + defaults). */
  config: TrainConfig;
  status: RunStatus;
  createdAt: string;
  updatedAt: string;
  step: number;
  totalSteps: number;
  trainExamples: number;
  validExamples: number;
  lastLoss: number | null;
  lastValLoss: number | null;
  bestValLoss: number | null;
  bestStep: number | null;
  /** The last error, when status is 'failed' (or a stop was forced by it). */
  error: EngineError | null;
}

export interface GpuMemoryNow {
  liveBytes: number;
  peakBytes: number;
}

/** One point of a run's history, as stored and as streamed. */
export type RunMetric =
  | {
      kind: 'step';
      step: number;
      loss: number;
      lr: number;
      gradNorm: number;
      tokens: number;
      epoch: number;
      elapsedMs: number;
      tokensPerSec: number;
    }
  | { kind: 'eval'; step: number; valLoss: number; valTokens: number }
  | { kind: 'samples'; step: number; samples: Sample[]; validity: number | null };

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
export type ExportDtype = 'f32' | 'f16' | 'bf16';

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
