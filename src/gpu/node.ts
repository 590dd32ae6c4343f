/**
 * WebGPU in Node through the `webgpu` package (Dawn). Node-only: never import this from browser code.
 * Without a GPU, Dawn can run on SwiftShader's Vulkan driver (Debian's chromium package ships it).
 */
import { existsSync } from 'node:fs';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

let cached: GPU | undefined;

/**
 * Returns a `GPU` object for Node and installs WebGPU's globals (GPUBufferUsage, GPUMapMode, ...).
 * `cpuFallback`: when no Vulkan driver is configured and SwiftShader is present, use it.
 */
export async function nodeGpu(options: { cpuFallback?: boolean } = {}): Promise<GPU> {
  if (cached) return cached;
  if (options.cpuFallback && !process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  const dawn = (await import('webgpu')) as unknown as DawnModule;
  Object.assign(globalThis, dawn.globals);
  cached = dawn.create([]);
  return cached;
}

/** Which Vulkan driver Dawn will load, for messages and device info. */
export function vulkanDriver(): string {
  return process.env.VK_ICD_FILENAMES ?? 'system default';
}
