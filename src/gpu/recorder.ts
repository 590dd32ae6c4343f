/**
 * Records many dispatches into one command buffer; per-dispatch `Params` go into one uniform buffer at aligned
 * offsets, and bind groups are built at `submit()`, when that uniform buffer exists. Consecutive dispatches share
 * one compute pass (WebGPU orders each dispatch's writes before the next one's reads); with timestamps asked for,
 * each dispatch gets its own pass so it can carry its timestamp queries.
 *
 * With a replay tape (see replay.ts) the uniform buffer and the bind groups of the previous submit under the same
 * key are reused: a steady training step creates neither buffers nor bind groups. `submit({ wait: false })` hands
 * the work to the queue and returns at once; the queue runs submits in order, so the next micro-batch can be
 * recorded and submitted while the GPU still runs this one.
 */
import type { GpuContext } from './device.ts';
import { type Binding, type ReplayTape, entryMatches } from './replay.ts';
import { withErrorScopes } from './scopes.ts';

export type { Binding };

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
    private readonly opts: { label?: string; timestamps?: boolean; tape?: ReplayTape } = {},
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

  /**
   * Encodes everything recorded into one command buffer and submits it; resolves when the GPU has finished, or
   * with `wait: false` as soon as the work is queued (timings are then not collected).
   */
  async submit(options: { wait?: boolean } = {}): Promise<void> {
    const { device } = this.ctx;
    const work = () => this.encodeAndSubmit();
    const resolveTimings = this.ctx.debug
      ? await withErrorScopes(device, `running ${this.opts.label ?? 'commands'}`, work)
      : work();
    if (options.wait === false) {
      void resolveTimings();
      return;
    }
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
    const tape = this.timestamps ? undefined : this.opts.tape;
    const uniforms = this.paramBytes > 0 ? this.uniforms(commands, tape) : undefined;
    this.paramBytes = 0;
    const dispatches = commands.filter((c): c is Command => c.kind === 'dispatch');
    const querySet =
      this.timestamps && dispatches.length > 0
        ? device.createQuerySet({ type: 'timestamp', count: 2 * dispatches.length })
        : undefined;

    const encoder = device.createCommandEncoder({ label: this.opts.label ?? 'recorder' });
    let open: GPUComputePassEncoder | null = null;
    const close = () => {
      open?.end();
      open = null;
    };
    let pass = 0;
    for (const cmd of commands) {
      if (cmd.kind === 'copy') {
        close();
        encoder.copyBufferToBuffer(cmd.src, cmd.srcOffset, cmd.dst, cmd.dstOffset, cmd.bytes);
        continue;
      }
      if (cmd.kind === 'clear') {
        close();
        encoder.clearBuffer(cmd.buffer);
        continue;
      }
      const { options } = cmd;
      const bindGroup = this.bindGroup(cmd, uniforms, tape, pass);
      let cp: GPUComputePassEncoder;
      if (querySet) {
        cp = encoder.beginComputePass({
          label: options.label,
          timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * pass, endOfPassWriteIndex: 2 * pass + 1 },
        });
      } else {
        open ??= encoder.beginComputePass({ label: this.opts.label ?? 'recorder' });
        cp = open;
      }
      cp.setPipeline(options.pipeline);
      cp.setBindGroup(0, bindGroup);
      const [x, y = 1, z = 1] = options.workgroups;
      cp.dispatchWorkgroups(x, y, z);
      if (querySet) cp.end();
      pass++;
    }
    close();
    if (tape) tape.entries.length = pass;
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
    if (!tape) uniforms?.destroy();

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

  /** The bind group of dispatch number `index`: the tape's when it was made from the same bindings, else a new one. */
  private bindGroup(cmd: Command, uniforms: GPUBuffer | undefined, tape: ReplayTape | undefined, index: number) {
    const { options } = cmd;
    const paramsSize = cmd.paramsOffset >= 0 ? Math.max(16, options.params!.byteLength) : 0;
    const cached = tape?.entries[index];
    if (tape && entryMatches(cached, options.pipeline, options.buffers, cmd.paramsOffset, paramsSize))
      return cached.bindGroup;
    const entries: GPUBindGroupEntry[] = [];
    let binding = 0;
    if (cmd.paramsOffset >= 0 && uniforms) {
      entries.push({ binding: binding++, resource: { buffer: uniforms, offset: cmd.paramsOffset, size: paramsSize } });
    }
    for (const b of options.buffers) {
      entries.push({ binding: binding++, resource: 'buffer' in b ? b : { buffer: b } });
    }
    const bindGroup = this.ctx.device.createBindGroup({
      label: options.label,
      layout: options.pipeline.getBindGroupLayout(0),
      entries,
    });
    if (tape) {
      tape.entries[index] = {
        pipeline: options.pipeline,
        buffers: options.buffers.slice(),
        paramsOffset: cmd.paramsOffset,
        paramsSize,
        bindGroup,
      };
    }
    return bindGroup;
  }

  /** The params of every dispatch in one uniform buffer: the tape's persistent one, or a new one for this submit. */
  private uniforms(commands: (Command | Copy | Clear)[], tape: ReplayTape | undefined): GPUBuffer {
    const size = Math.ceil(this.paramBytes / 16) * 16;
    if (!tape) {
      const buffer = this.ctx.device.createBuffer({
        label: `${this.opts.label ?? 'recorder'}/params`,
        size,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        mappedAtCreation: true,
      });
      this.writeParams(commands, new Uint8Array(buffer.getMappedRange()));
      buffer.unmap();
      return buffer;
    }
    const buffer = tape.uniformFor(this.ctx.device, this.opts.label ?? 'recorder', size);
    const bytes = new Uint8Array(tape.uploaded.byteLength);
    this.writeParams(commands, bytes);
    tape.upload(this.ctx.device, bytes);
    return buffer;
  }

  private writeParams(commands: (Command | Copy | Clear)[], view: Uint8Array): void {
    for (const cmd of commands) {
      if (cmd.kind !== 'dispatch' || cmd.paramsOffset < 0) continue;
      const p = cmd.options.params!;
      const bytes = p instanceof ArrayBuffer ? new Uint8Array(p) : new Uint8Array(p.buffer, p.byteOffset, p.byteLength);
      view.set(bytes, cmd.paramsOffset);
    }
  }
}
