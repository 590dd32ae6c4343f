/** A plain, serializable description of the device: shown by the app, printed by `cli info`. */
import type { AdapterDescription, GpuContext, OptionalFeature } from './device.ts';

export interface DeviceInfo {
  adapter: AdapterDescription;
  features: Record<OptionalFeature, boolean>;
  limits: Record<string, number>;
  /** Where the device lives: "browser-worker" or "node". */
  runtime: string;
}

export function deviceInfo(ctx: GpuContext, runtime: string): DeviceInfo {
  return { adapter: { ...ctx.adapter }, features: { ...ctx.features }, limits: { ...ctx.limits }, runtime };
}

/** Human-readable byte count (binary units). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}
