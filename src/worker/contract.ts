/**
 * The typed contract between the UI and the engine worker (comlink). The UI imports this with `import type`
 * only; every value that crosses it is structured-cloneable. Failures come back as values, not exceptions.
 */
import type { EngineError } from '../schema/errors.ts';
import type { DeviceInfo } from '../gpu/info.ts';
import type { PresetName, TrainConfigInput } from '../schema/train.ts';
import type { PreflightData, RunPlan } from '../train/preflight.ts';
import type { DownloadProgress } from '../model/download.ts';
import type { HubFile, HubLocation } from '../model/hub.ts';
import type {
  ChatEvent,
  ChatRequest,
  ExportedFileInfo,
  ExportProgress,
  ExportRequest,
  ModelRef,
  RunInfo,
  RunMetric,
  TrainEvent,
  TrainRequest,
} from './contract-runs.ts';

export type * from './contract-runs.ts';

/** An error as the UI shows it: what happened, and what the user can do. */
export type { EngineError };

export type Result<T> = { ok: true; value: T } | { ok: false; error: EngineError };

export type DeviceStatus = { ok: true; info: DeviceInfo } | { ok: false; error: EngineError };

export interface RepoInfo {
  loc: HubLocation;
  files: HubFile[];
  bytes: number;
  summary: { arch: string; parameters: number; layers: number; planBytes: number } | null;
}

export interface CachedModelInfo {
  repo: string;
  revision: string;
  bytes: number;
  files: number;
  completedAt: string;
}

export interface OpenedModel {
  arch: string;
  parameters: number;
  tokenizer: boolean;
  /** Tensors read and their GPU bytes, and the load time. */
  tensors: number;
  gpuBytes: number;
  ms: number;
  /** The load report's precision lines: types kept as stored, conversions that lose precision (src/model/load-notes.ts). */
  notes: string[];
}

export interface EngineApi {
  /** Acquires the GPU (once) and describes it, or says why there is none. */
  deviceInfo(): Promise<DeviceStatus>;
  inspectRepo(base: string, repo: string, revision?: string): Promise<Result<RepoInfo>>;
  /** Downloads into the browser's model cache; resumes what an earlier attempt left. */
  download(
    loc: HubLocation,
    files: HubFile[],
    onProgress: (p: DownloadProgress) => void,
  ): Promise<Result<CachedModelInfo>>;
  cancelDownload(): void;
  cachedModels(): Promise<Result<CachedModelInfo[]>>;
  deleteCached(repo: string, revision: string): Promise<Result<null>>;
  /** Loads a cached model onto the GPU (offline) to check it, then releases it. */
  openCached(repo: string, revision: string): Promise<Result<OpenedModel>>;

  /** Copies a local model folder (config.json, safetensors or GGUF, tokenizer files) into the cache as `local/<name>`. */
  importLocalModel(
    name: string,
    files: { path: string; file: File }[],
    onProgress: (p: DownloadProgress) => void,
  ): Promise<Result<CachedModelInfo>>;

  // Training (src/worker/training.ts). One run at a time; events stream to onEvent.
  listRuns(): Promise<Result<RunInfo[]>>;
  runMetrics(runId: string): Promise<Result<RunMetric[]>>;
  /** Creates a run and trains it; resolves when it ends (done, stopped, paused runs keep the promise pending). */
  startRun(req: TrainRequest, onEvent: (e: TrainEvent) => void): Promise<Result<RunInfo>>;
  /** Continues a run from its newest checkpoint (after a reload, a stop or an error). */
  resumeRun(runId: string, onEvent: (e: TrainEvent) => void): Promise<Result<RunInfo>>;
  pauseRun(): void;
  continueRun(): void;
  /** Stops after the current step, saving a checkpoint first. */
  stopRun(): void;
  deleteRun(runId: string): Promise<Result<null>>;

  // Try it (src/worker/chat.ts): base and adapter answers, token by token, interleaved.
  chat(req: ChatRequest, onEvent: (e: ChatEvent) => void): Promise<Result<null>>;
  cancelChat(): void;

  // Export (src/worker/export.ts): into a folder the user picked, or as a zip's bytes where that API is missing.
  exportRun(
    req: ExportRequest,
    dir: FileSystemDirectoryHandle | null,
    onProgress?: (p: ExportProgress) => void,
    /** `note`: something the user should know about a finished export (e.g. no copy kept for the Try page). */
  ): Promise<Result<{ files: ExportedFileInfo[]; zip: Uint8Array | null; note?: string }>>;
  /** Stops a merged-weights export between chunks (a partly written folder is removed). */
  cancelExport(): void;
  // Scale-out (src/worker/scale-out.ts): a run handed over to transformers + PEFT + accelerate, and an adapter back.
  /** The run's scale-out folder (data, train.py, accelerate and axolotl configs) into the folder, or as a zip. */
  scaleOutRun(
    runId: string,
    dir: FileSystemDirectoryHandle | null,
  ): Promise<Result<{ files: ExportedFileInfo[]; zip: Uint8Array | null }>>;
  /** A PEFT adapter folder's files (adapter_config.json, adapter_model.safetensors) → a finished run of `model`. */
  importPeftAdapter(
    model: ModelRef,
    name: string,
    files: { name: string; bytes: Uint8Array }[],
  ): Promise<Result<RunInfo>>;
  /** Releases the model and adapters the worker keeps loaded for chat. */
  releaseModels(): void;
  /**
   * The pre-flight check of a run (src/train/preflight.ts) against this GPU's buffer limits: steps, epochs, tokens
   * per step, the memory plan, and the settings refused before Start. `data` describes the chosen dataset.
   */
  planRun(
    model: ModelRef,
    config: TrainConfigInput,
    preset: PresetName | null,
    data: PreflightData,
  ): Promise<Result<RunPlan | null>>;
}
