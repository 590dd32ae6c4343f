/**
 * The typed contract between the UI and the engine worker (comlink). The UI imports this with `import type`
 * only; every value that crosses it is structured-cloneable. Failures come back as values, not exceptions.
 */
import type { GpuErrorKind } from '../gpu/errors.ts';
import type { DeviceInfo } from '../gpu/info.ts';
import type { DownloadProgress } from '../model/download.ts';
import type { HubFile, HubLocation } from '../model/hub.ts';

/** An error as the UI shows it: what happened, and what the user can do. */
export interface EngineError {
  kind: GpuErrorKind | 'unknown';
  message: string;
  hint: string;
}

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
}

export interface EngineApi {
  /** Acquires the GPU (once) and describes it, or says why there is none. */
  deviceInfo(): Promise<DeviceStatus>;
  inspectRepo(base: string, repo: string, revision?: string): Promise<Result<RepoInfo>>;
  /** Downloads into the browser's model cache; resumes what an earlier attempt left. */
  download(loc: HubLocation, files: HubFile[], onProgress: (p: DownloadProgress) => void): Promise<Result<CachedModelInfo>>;
  cancelDownload(): void;
  cachedModels(): Promise<Result<CachedModelInfo[]>>;
  deleteCached(repo: string, revision: string): Promise<Result<null>>;
  /** Loads a cached model onto the GPU (offline) to check it, then releases it. */
  openCached(repo: string, revision: string): Promise<Result<OpenedModel>>;
}
