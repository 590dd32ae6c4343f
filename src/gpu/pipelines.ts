/**
 * Compute pipelines cached by shader, entry point and override constants.
 * Shader modules are cached per shader so entry points of one file share a compilation.
 */
import type { GpuContext } from './device.ts';
import type { ShaderSource } from './shader.ts';
import { withErrorScopes } from './scopes.ts';

export type OverrideConstants = Record<string, number>;

export interface PipelineRequest {
  shader: ShaderSource;
  entryPoint: string;
  constants?: OverrideConstants;
}

export function pipelineKey(req: PipelineRequest): string {
  const constants = Object.entries(req.constants ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return `${req.shader.name}:${req.entryPoint}:${constants}`;
}

export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();

  constructor(private readonly ctx: GpuContext) {}

  get size(): number {
    return this.pipelines.size;
  }

  private module(shader: ShaderSource): GPUShaderModule {
    const key = shader.name;
    let module = this.modules.get(key);
    if (!module) {
      module = this.ctx.device.createShaderModule({ label: key, code: shader.code });
      this.modules.set(key, module);
    }
    return module;
  }

  /** Returns the cached pipeline, compiling it on first use (checked with error scopes in debug mode). */
  async get(req: PipelineRequest): Promise<GPUComputePipeline> {
    const key = pipelineKey(req);
    const cached = this.pipelines.get(key);
    if (cached) return cached;
    const create = async () =>
      this.ctx.device.createComputePipelineAsync({
        label: key,
        layout: 'auto',
        compute: {
          module: this.module(req.shader),
          entryPoint: req.entryPoint,
          constants: req.constants ?? {},
        },
      });
    const pipeline = this.ctx.debug
      ? await withErrorScopes(this.ctx.device, `compiling ${key}`, create)
      : await create();
    this.pipelines.set(key, pipeline);
    return pipeline;
  }
}
