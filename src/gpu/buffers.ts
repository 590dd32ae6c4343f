/**
 * Labelled GPU buffers with byte accounting: live and peak bytes in total and per owner
 * (e.g. "weights", "lora", "optimizer", "activations", "scratch"), so memory use is measured, not guessed.
 */

export interface TrackedBuffer {
  readonly buffer: GPUBuffer;
  readonly owner: string;
  readonly label: string;
  readonly bytes: number;
}

export interface MemoryStats {
  liveBytes: number;
  peakBytes: number;
  byOwner: Record<string, { liveBytes: number; peakBytes: number; buffers: number }>;
}

/** Storage buffers that kernels read and write, plus copies in and out. */
export const STORAGE_USAGE = GPUBufferUsageFlagsOf(['STORAGE', 'COPY_SRC', 'COPY_DST']);

/** `GPUBufferUsage` is a global only where WebGPU exists; compute flags lazily so importing this file never throws. */
function GPUBufferUsageFlagsOf(names: (keyof GPUBufferUsage)[]): () => number {
  return () => names.reduce((acc, n) => acc | (globalThis.GPUBufferUsage[n] as number), 0);
}

/** WebGPU requires buffer sizes to be multiples of 4; storage bindings may not be empty. */
export function alignedSize(bytes: number): number {
  return Math.max(4, Math.ceil(bytes / 4) * 4);
}

export class GpuMemory {
  private readonly live = new Map<GPUBuffer, TrackedBuffer>();
  private readonly owners = new Map<string, { liveBytes: number; peakBytes: number; buffers: number }>();
  private liveBytes = 0;
  private peakBytes = 0;

  constructor(private readonly device: GPUDevice) {}

  /** Creates a buffer; `usage` defaults to storage + copy in/out. */
  create(
    owner: string,
    label: string,
    bytes: number,
    usage: number = STORAGE_USAGE(),
    mappedAtCreation = false,
  ): TrackedBuffer {
    const size = alignedSize(bytes);
    const buffer = this.device.createBuffer({ label: `${owner}/${label}`, size, usage, mappedAtCreation });
    const tracked: TrackedBuffer = { buffer, owner, label, bytes: size };
    this.live.set(buffer, tracked);
    const o = this.owners.get(owner) ?? { liveBytes: 0, peakBytes: 0, buffers: 0 };
    o.liveBytes += size;
    o.buffers += 1;
    o.peakBytes = Math.max(o.peakBytes, o.liveBytes);
    this.owners.set(owner, o);
    this.liveBytes += size;
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes);
    return tracked;
  }

  /** Creates a storage buffer holding `data`. */
  upload(owner: string, label: string, data: ArrayBufferView, usage: number = STORAGE_USAGE()): TrackedBuffer {
    const tracked = this.create(owner, label, data.byteLength, usage, true);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    new Uint8Array(tracked.buffer.getMappedRange()).set(bytes);
    tracked.buffer.unmap();
    return tracked;
  }

  destroy(buffer: GPUBuffer | TrackedBuffer): void {
    const gpuBuffer = 'buffer' in buffer ? buffer.buffer : buffer;
    const tracked = this.live.get(gpuBuffer);
    if (!tracked) return;
    this.live.delete(gpuBuffer);
    this.liveBytes -= tracked.bytes;
    const o = this.owners.get(tracked.owner);
    if (o) {
      o.liveBytes -= tracked.bytes;
      o.buffers -= 1;
    }
    gpuBuffer.destroy();
  }

  /** Destroys every buffer of one owner (e.g. all activations after a step). */
  destroyOwner(owner: string): void {
    for (const tracked of [...this.live.values()]) if (tracked.owner === owner) this.destroy(tracked);
  }

  destroyAll(): void {
    for (const tracked of [...this.live.values()]) this.destroy(tracked);
  }

  /** Starts a new peak measurement from the current live bytes. */
  resetPeak(): void {
    this.peakBytes = this.liveBytes;
    for (const o of this.owners.values()) o.peakBytes = o.liveBytes;
  }

  stats(): MemoryStats {
    const byOwner: MemoryStats['byOwner'] = {};
    for (const [name, o] of this.owners) byOwner[name] = { ...o };
    return { liveBytes: this.liveBytes, peakBytes: this.peakBytes, byOwner };
  }
}
