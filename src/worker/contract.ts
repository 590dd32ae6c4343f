/**
 * The typed contract between the UI and the engine worker (comlink). The UI imports this with `import type`
 * only; every value that crosses it is structured-cloneable.
 */
import type { GpuErrorKind } from '../gpu/errors.ts';
import type { DeviceInfo } from '../gpu/info.ts';

/** An error as the UI shows it: what happened, and what the user can do. */
export interface EngineError {
  kind: GpuErrorKind | 'unknown';
  message: string;
  hint: string;
}

export type DeviceStatus = { ok: true; info: DeviceInfo } | { ok: false; error: EngineError };

export interface EngineApi {
  /** Acquires the GPU (once) and describes it, or says why there is none. */
  deviceInfo(): Promise<DeviceStatus>;
}
