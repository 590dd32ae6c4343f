/**
 * Replay of a recorded command list: what a recorder with a replay key reuses from its previous submit under the
 * same key, so a steady training step creates no buffer and no bind group.
 *
 * A tape keeps one persistent uniform buffer holding every dispatch's `Params` at the same aligned offsets, the host
 * copy of what was last uploaded into it (a submit writes only the byte range that changed, through
 * `queue.writeBuffer`, which the queue orders after the work already submitted: no CPU wait is needed before
 * reusing it), and one bind group per dispatch with the bindings it was made from. A dispatch whose pipeline,
 * buffers (with offsets and sizes) and params slot match the tape's entry at the same index reuses that bind group;
 * any other gets a new one, so a key shared by two different command lists costs speed, never correctness.
 */
/** A buffer bound whole, or a byte range of it. */
export type Binding = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

export interface TapeEntry {
  pipeline: GPUComputePipeline;
  buffers: readonly Binding[];
  paramsOffset: number;
  paramsSize: number;
  bindGroup: GPUBindGroup;
}

export class ReplayTape {
  uniform: GPUBuffer | null = null;
  /** What the uniform buffer holds now (host copy). */
  uploaded: Uint8Array<ArrayBuffer> = new Uint8Array(0);
  entries: TapeEntry[] = [];
  /** Submits that reused every bind group of the tape. */
  hits = 0;

  /** The persistent uniform buffer, at least `bytes` long (a larger one drops every bind group made on the old one). */
  uniformFor(device: GPUDevice, label: string, bytes: number): GPUBuffer {
    const size = Math.ceil(bytes / 16) * 16;
    if (this.uniform && this.uniform.size >= size) return this.uniform;
    this.uniform?.destroy();
    this.uniform = device.createBuffer({
      label: `${label}/params (replayed)`,
      size,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.uploaded = new Uint8Array(size);
    this.entries = [];
    return this.uniform;
  }

  /** Uploads `bytes` (the whole params block) where it differs from what the buffer already holds. */
  upload(device: GPUDevice, bytes: Uint8Array<ArrayBuffer>): void {
    const old = this.uploaded;
    let first = 0;
    const n = bytes.byteLength;
    while (first < n && bytes[first] === old[first]) first++;
    if (first === n) return;
    let last = n;
    while (last > first && bytes[last - 1] === old[last - 1]) last--;
    first &= ~3;
    last = Math.min(n, Math.ceil(last / 4) * 4);
    device.queue.writeBuffer(this.uniform!, first, bytes, first, last - first);
    old.set(bytes.subarray(first, last), first);
  }

  destroy(): void {
    this.uniform?.destroy();
    this.uniform = null;
    this.entries = [];
  }
}

export function sameBinding(a: Binding, b: Binding): boolean {
  if (a === b) return true;
  if ('buffer' in a && 'buffer' in b) return a.buffer === b.buffer && a.offset === b.offset && a.size === b.size;
  return false;
}

export function entryMatches(
  e: TapeEntry | undefined,
  pipeline: GPUComputePipeline,
  buffers: readonly Binding[],
  paramsOffset: number,
  paramsSize: number,
): e is TapeEntry {
  if (!e || e.pipeline !== pipeline || e.paramsOffset !== paramsOffset || e.paramsSize !== paramsSize) return false;
  if (e.buffers.length !== buffers.length) return false;
  for (let i = 0; i < buffers.length; i++) if (!sameBinding(e.buffers[i]!, buffers[i]!)) return false;
  return true;
}

/**
 * The tapes of one device, by key, least recently used first out beyond `capacity` (length buckets keep the number
 * of shapes a run meets small).
 */
export class ReplayCache {
  private readonly tapes = new Map<string, ReplayTape>();

  constructor(readonly capacity = 24) {}

  get size(): number {
    return this.tapes.size;
  }

  tape(key: string): ReplayTape {
    let tape = this.tapes.get(key);
    if (tape) {
      this.tapes.delete(key);
    } else {
      tape = new ReplayTape();
      while (this.tapes.size >= this.capacity) {
        const [oldest, t] = this.tapes.entries().next().value as [string, ReplayTape];
        t.destroy();
        this.tapes.delete(oldest);
      }
    }
    this.tapes.set(key, tape);
    return tape;
  }

  /** Drops every tape (e.g. when the buffers its bind groups point at are destroyed). */
  clear(): void {
    for (const t of this.tapes.values()) t.destroy();
    this.tapes.clear();
  }
}
