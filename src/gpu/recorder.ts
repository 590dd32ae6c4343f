/**
 * Records many dispatches into one command buffer. Each dispatch is its own compute pass so it can
 * carry timestamp queries; per-dispatch `Params` go into one uniform buffer at aligned offsets.
 * Bind groups are built at `submit()`, when that uniform buffer exists.
 */
import type { GpuContext } from './device.ts';
import { withErrorScopes } from './scopes.ts';

/** A buffer bound whole, or a byte range of it. */
export type Binding = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

export interface DispatchOptions {
  label: string;
  pipeline: GPUComputePipeline;
  /** Storage buffers in binding order; with `params`, they start at binding 1 and params is binding 0. */
  buffers: Binding[];
  /** Bytes of the uniform `Params` struct (already laid out to WGSL's rules). */
  params?: ArrayBuffer | ArrayBufferView;
  workgroups: [number, number?, number?];
}

export interface PassTiming {
  label: string;
  ms: number;
}

interface Command {
  kind: 'dispatch';
  options: DispatchOptions;
  paramsOffset: number;
}
interface Clear {
  kind: 'clear';
  buffer: GPUBuffer;
}
interface Copy {
  kind: 'copy';
  src: GPUBuffer;
  srcOffset: number;
  dst: GPUBuffer;
  dstOffset: number;
  bytes: number;
}

export class Recorder {
  private readonly commands: (Command | Copy | Clear)[] = [];
  private paramBytes = 0;
  private readonly align: number;
  private lastTimings: PassTiming[] = [];

  constructor(
    private readonly ctx: GpuContext,
    private readonly opts: { label?: string; timestamps?: boolean } = {},
  ) {
    this.align = ctx.device.limits.minUniformBufferOffsetAlignment;
  }

  get timestamps(): boolean {
    return Boolean(this.opts.timestamps) && this.ctx.features['timestamp-query'];
  }

  dispatch(options: DispatchOptions): this {
    const [x, y = 1, z = 1] = options.workgroups;
    const max = this.ctx.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max)
      throw new Error(`${options.label}: dispatch ${x}x${y}x${z} exceeds ${max} workgroups per dimension`);
    if (x === 0 || y === 0 || z === 0) return this;
    let paramsOffset = -1;
    if (options.params) {
      paramsOffset = Math.ceil(this.paramBytes / this.align) * this.align;
      this.paramBytes = paramsOffset + Math.max(16, options.params.byteLength);
    }
    this.commands.push({ kind: 'dispatch', options, paramsOffset });
    return this;
  }

  copy(src: GPUBuffer, dst: GPUBuffer, bytes: number, srcOffset = 0, dstOffset = 0): this {
    this.commands.push({ kind: 'copy', src, srcOffset, dst, dstOffset, bytes });
    return this;
  }

  /** Zero-fills a whole buffer. */
  clear(buffer: GPUBuffer): this {
    this.commands.push({ kind: 'clear', buffer });
    return this;
  }

  get length(): number {
    return this.commands.length;
  }

  /** Encodes everything recorded into one command buffer and submits it; resolves when the GPU has finished. */
  async submit(): Promise<void> {
    const { device } = this.ctx;
    const work = () => this.encodeAndSubmit();
    const resolveTimings = this.ctx.debug
      ? await withErrorScopes(device, `running ${this.opts.label ?? 'commands'}`, work)
      : work();
    await device.queue.onSubmittedWorkDone();
    this.lastTimings = await resolveTimings();
  }

  /** Per-pass GPU times of the last `submit()` (empty without timestamp queries). */
  timings(): PassTiming[] {
    return this.lastTimings;
  }

  private encodeAndSubmit(): () => Promise<PassTiming[]> {
    const { device } = this.ctx;
    const commands = this.commands.splice(0);
    const uniforms = this.paramBytes > 0 ? this.buildUniforms(commands) : undefined;
    this.paramBytes = 0;
    const dispatches = commands.filter((c): c is Command => c.kind === 'dispatch');
    const querySet =
      this.timestamps && dispatches.length > 0
        ? device.createQuerySet({ type: 'timestamp', count: 2 * dispatches.length })
        : undefined;

    const encoder = device.createCommandEncoder({ label: this.opts.label ?? 'recorder' });
    let pass = 0;
    for (const cmd of commands) {
      if (cmd.kind === 'copy') {
        encoder.copyBufferToBuffer(cmd.src, cmd.srcOffset, cmd.dst, cmd.dstOffset, cmd.bytes);
        continue;
      }
      if (cmd.kind === 'clear') {
        encoder.clearBuffer(cmd.buffer);
        continue;
      }
      const { options } = cmd;
      const entries: GPUBindGroupEntry[] = [];
      let binding = 0;
      if (cmd.paramsOffset >= 0 && uniforms) {
        entries.push({
          binding: binding++,
          resource: { buffer: uniforms, offset: cmd.paramsOffset, size: Math.max(16, options.params!.byteLength) },
        });
      }
      for (const b of options.buffers) {
        entries.push({ binding: binding++, resource: 'buffer' in b ? b : { buffer: b } });
      }
      const bindGroup = device.createBindGroup({
        label: options.label,
        layout: options.pipeline.getBindGroupLayout(0),
        entries,
      });
      const timestampWrites = querySet
        ? { querySet, beginningOfPassWriteIndex: 2 * pass, endOfPassWriteIndex: 2 * pass + 1 }
        : undefined;
      const cp = encoder.beginComputePass(
        timestampWrites ? { label: options.label, timestampWrites } : { label: options.label },
      );
      cp.setPipeline(options.pipeline);
      cp.setBindGroup(0, bindGroup);
      const [x, y = 1, z = 1] = options.workgroups;
      cp.dispatchWorkgroups(x, y, z);
      cp.end();
      pass++;
    }
    let resolveBuffer: GPUBuffer | undefined;
    if (querySet) {
      const bytes = 16 * dispatches.length;
      const resolved = device.createBuffer({
        size: bytes,
        usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      });
      resolveBuffer = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      encoder.resolveQuerySet(querySet, 0, 2 * dispatches.length, resolved, 0);
      encoder.copyBufferToBuffer(resolved, 0, resolveBuffer, 0, bytes);
      device.queue.submit([encoder.finish()]);
      resolved.destroy();
    } else {
      device.queue.submit([encoder.finish()]);
    }
    uniforms?.destroy();

    return async () => {
      if (!resolveBuffer || !querySet) return [];
      await resolveBuffer.mapAsync(GPUMapMode.READ);
      const ticks = new BigInt64Array(resolveBuffer.getMappedRange().slice(0));
      resolveBuffer.destroy();
      querySet.destroy();
      return dispatches.map((d, i) => ({
        label: d.options.label,
        ms: Number(ticks[2 * i + 1]! - ticks[2 * i]!) / 1e6,
      }));
    };
  }

  private buildUniforms(commands: (Command | Copy | Clear)[]): GPUBuffer {
    const buffer = this.ctx.device.createBuffer({
      label: `${this.opts.label ?? 'recorder'}/params`,
      size: Math.ceil(this.paramBytes / 16) * 16,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      mappedAtCreation: true,
    });
    const view = new Uint8Array(buffer.getMappedRange());
    for (const cmd of commands) {
      if (cmd.kind !== 'dispatch' || cmd.paramsOffset < 0) continue;
      const p = cmd.options.params!;
      const bytes = p instanceof ArrayBuffer ? new Uint8Array(p) : new Uint8Array(p.buffer, p.byteOffset, p.byteLength);
      view.set(bytes, cmd.paramsOffset);
    }
    buffer.unmap();
    return buffer;
  }
}
