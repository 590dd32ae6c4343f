/**
 * Adapter and device acquisition, shared by the browser worker and Node.
 * Requests the adapter's real limits (not WebGPU's small defaults) and the optional features we use.
 */
import { GpuError, deviceLost, noAdapter, webGpuUnavailable } from './errors.ts';

/** Optional features the engine uses when the adapter has them. */
export const OPTIONAL_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query'] as const;
export type OptionalFeature = (typeof OPTIONAL_FEATURES)[number];

/** Limits we raise to the adapter's maximum because large models need them. */
export const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize',
  'maxBindGroups',
] as const;

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
}

export interface GpuContext {
  device: GPUDevice;
  adapter: AdapterDescription;
  features: Record<OptionalFeature, boolean>;
  limits: Record<string, number>;
  /** When true, commands are wrapped in error scopes and failures throw typed errors at once (tests, debug builds). */
  debug: boolean;
  /** Resolves with a typed error when the device is lost (never resolves for a healthy device). */
  lost: Promise<GpuError>;
}

export interface AcquireOptions {
  powerPreference?: GPUPowerPreference;
  /** Ask for `shader-f16` even if available; false forces the f32 fallback paths. */
  allowF16?: boolean;
  debug?: boolean;
  label?: string;
}

export function describeAdapter(adapter: GPUAdapter): AdapterDescription {
  const info = adapter.info;
  return {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
    // `isFallbackAdapter` moved from the adapter to its info; read whichever this implementation has.
    isFallbackAdapter: Boolean(
      (info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter ??
      (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter,
    ),
  };
}

function limitsOf(source: GPUSupportedLimits): Record<string, number> {
  const out: Record<string, number> = {};
  // GPUSupportedLimits exposes its values as prototype getters, so walk the prototype chain.
  for (let proto: object | null = source; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      const value = (source as unknown as Record<string, unknown>)[key];
      if (typeof value === 'number' && !(key in out)) out[key] = value;
    }
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

export async function acquireDevice(gpu: GPU | undefined, options: AcquireOptions = {}): Promise<GpuContext> {
  if (!gpu) throw webGpuUnavailable();
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) throw noAdapter();

  const wanted = OPTIONAL_FEATURES.filter(
    (f) => adapter.features.has(f) && (f !== 'shader-f16' || options.allowF16 !== false),
  );
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) {
    const value = (adapter.limits as unknown as Record<string, number | undefined>)[name];
    if (typeof value === 'number') requiredLimits[name] = value;
  }
  const device = await adapter.requestDevice({
    label: options.label ?? 'lora-engine',
    requiredFeatures: wanted as GPUFeatureName[],
    requiredLimits,
  });

  const features = Object.fromEntries(OPTIONAL_FEATURES.map((f) => [f, device.features.has(f)])) as Record<
    OptionalFeature,
    boolean
  >;
  const lost = device.lost.then((info) => deviceLost(info));
  return {
    device,
    adapter: describeAdapter(adapter),
    features,
    limits: limitsOf(device.limits),
    debug: options.debug ?? false,
    lost,
  };
}
