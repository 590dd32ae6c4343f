/**
 * The engine worker: owns the GPU device and runs all GPU work off the page's main thread.
 * Exposed to the UI with comlink; see contract.ts.
 */
import { expose } from 'comlink';
import { GpuError } from '../gpu/errors.ts';
import { deviceInfo } from '../gpu/info.ts';
import { GpuRuntime } from '../gpu/runtime.ts';
import type { DeviceStatus, EngineApi, EngineError } from './contract.ts';
import { cachedModels, cancelDownload, deleteCached, download, inspectRepo, openCached } from './models.ts';

let runtime: Promise<GpuRuntime> | undefined;

function getRuntime(): Promise<GpuRuntime> {
  runtime ??= GpuRuntime.create(self.navigator.gpu, { label: 'engine', debug: import.meta.env.DEV }).then((rt) => {
    // A lost device must be re-acquired on the next call.
    void rt.ctx.lost.then(() => {
      runtime = undefined;
    });
    return rt;
  });
  runtime.catch(() => {
    runtime = undefined;
  });
  return runtime;
}

export function toEngineError(err: unknown): EngineError {
  if (err instanceof GpuError) return { kind: err.kind, message: err.message.replace(err.hint, '').trim(), hint: err.hint };
  return { kind: 'unknown', message: err instanceof Error ? err.message : String(err), hint: 'Reload the page; if it repeats, report this message.' };
}

const api: EngineApi = {
  async deviceInfo(): Promise<DeviceStatus> {
    try {
      const rt = await getRuntime();
      return { ok: true, info: deviceInfo(rt.ctx, 'browser-worker') };
    } catch (err) {
      return { ok: false, error: toEngineError(err) };
    }
  },
  inspectRepo,
  download,
  cancelDownload,
  cachedModels,
  deleteCached,
  async openCached(repo, revision) {
    try {
      return await openCached(repo, revision, await getRuntime());
    } catch (err) {
      return { ok: false, error: toEngineError(err) };
    }
  },
};

expose(api);
