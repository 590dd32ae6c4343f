/**
 * The GPU runtime a kernel needs: device context, memory accounting and the pipeline cache, in one object.
 * Created once per device by the worker (browser) or the CLI / tests (Node).
 */
import { GpuMemory } from './buffers.ts';
import { type AcquireOptions, type GpuContext, acquireDevice } from './device.ts';
import { PipelineCache } from './pipelines.ts';
import { readF32 } from './readback.ts';
import { Recorder } from './recorder.ts';
import { ReplayCache } from './replay.ts';

export class GpuRuntime {
  readonly memory: GpuMemory;
  readonly pipelines: PipelineCache;
  /** Recorded command lists by replay key: their uniform buffers and bind groups, reused submit after submit. */
  readonly replays = new ReplayCache();

  constructor(readonly ctx: GpuContext) {
    this.memory = new GpuMemory(ctx.device);
    this.pipelines = new PipelineCache(ctx);
  }

  static async create(gpu: GPU | undefined, options: AcquireOptions = {}): Promise<GpuRuntime> {
    return new GpuRuntime(await acquireDevice(gpu, options));
  }

  get device(): GPUDevice {
    return this.ctx.device;
  }

  /**
   * A recorder; with `replay`, one whose submits reuse the uniform buffer and bind groups of the previous submit
   * under that key (use one key per command-list shape, e.g. a micro-batch's B × T).
   */
  recorder(label: string, options: { timestamps?: boolean; replay?: string } = {}): Recorder {
    const { replay, ...rest } = options;
    return new Recorder(this.ctx, { label, ...rest, ...(replay ? { tape: this.replays.tape(replay) } : {}) });
  }

  /** Uploads f32 data into a new storage buffer owned by `owner`. */
  uploadF32(owner: string, label: string, data: Float32Array | number[]): GPUBuffer {
    return this.memory.upload(owner, label, data instanceof Float32Array ? data : new Float32Array(data)).buffer;
  }

  /** A new zero-filled storage buffer of `count` f32 values. */
  zerosF32(owner: string, label: string, count: number): GPUBuffer {
    return this.memory.create(owner, label, count * 4).buffer;
  }

  /** A 16-byte buffer for bindings a dispatch declares but does not read (e.g. an absent bias). */
  get unusedBinding(): GPUBuffer {
    this.unused ??= this.memory.create('runtime', 'unused-binding', 16).buffer;
    return this.unused;
  }
  private unused: GPUBuffer | undefined;

  readF32(buffer: GPUBuffer, count?: number): Promise<Float32Array> {
    return readF32(this.ctx.device, buffer, count);
  }

  destroy(): void {
    this.replays.clear();
    this.memory.destroyAll();
    this.ctx.device.destroy();
  }
}
