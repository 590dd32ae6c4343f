/** Node-only: a ByteSource over a file on disk, read with positioned `fd` reads (no whole-file buffering). */
import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { ByteRangeError, checkRange, type ByteSource } from './byte-source.ts';

export class NodeFileByteSource implements ByteSource {
  private closed = false;
  private constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    readonly name: string,
    readonly path: string,
  ) {}

  /** Opens `path` for reading; call `close()` when done. */
  static async open(path: string): Promise<NodeFileByteSource> {
    const handle = await open(path, 'r');
    try {
      const stat = await handle.stat();
      return new NodeFileByteSource(handle, stat.size, basename(path), path);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (this.closed) throw new Error(`${this.name}: read after close`);
    checkRange(this.name, offset, length, this.size);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(out, done, length - done, offset + done);
      if (bytesRead === 0) throw new ByteRangeError(this.name, offset, length, offset + done);
      done += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

/** Opens a file, runs `fn` with its source, and closes it whatever happens. */
export async function withFileSource<T>(path: string, fn: (source: NodeFileByteSource) => Promise<T>): Promise<T> {
  const source = await NodeFileByteSource.open(path);
  try {
    return await fn(source);
  } finally {
    await source.close();
  }
}
