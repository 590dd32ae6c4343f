/**
 * The engine worker: owns the GPU device and runs all GPU work off the page's main thread.
 * Exposed to the UI with comlink; see contract.ts. Each group of calls lives in its own module.
 */
// First: zod must be jitless before any schema is built (CSP without eval).
import '../schema/jitless.ts';
import { expose } from 'comlink';
import { deviceInfo } from '../gpu/info.ts';
import { chatApi } from './chat.ts';
import type { DeviceStatus, EngineApi } from './contract.ts';
import { exportApi } from './export.ts';
import { localModelApi } from './local-model.ts';
import { modelsApi } from './models.ts';
import { scaleOutApi } from './scale-out.ts';
import { getRuntime, toEngineError } from './runtime.ts';
import { trainingApi } from './training.ts';

const api: EngineApi = {
  async deviceInfo(): Promise<DeviceStatus> {
    try {
      const rt = await getRuntime();
      return { ok: true, info: deviceInfo(rt.ctx, 'browser-worker') };
    } catch (err) {
      return { ok: false, error: toEngineError(err) };
    }
  },
  ...modelsApi,
  ...trainingApi,
  ...chatApi,
  ...exportApi,
  ...localModelApi,
  ...scaleOutApi,
};

expose(api);
