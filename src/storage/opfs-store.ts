/** FileStore on the Origin Private File System (browser main thread or worker). */
import { type FileStore, storageError } from './file-store.ts';

function parts(path: string): string[] {
  return path.split('/').filter(Boolean);
}

export class OpfsStore implements FileStore {
  constructor(private readonly root: Promise<FileSystemDirectoryHandle> = navigator.storage.getDirectory()) {}

  private async dir(names: string[], create: boolean): Promise<FileSystemDirectoryHandle | null> {
    let d = await this.root;
    for (const n of names) {
      try {
        d = await d.getDirectoryHandle(n, { create });
      } catch (err) {
        if ((err as { name?: string }).name === 'NotFoundError') return null;
        throw err;
      }
    }
    return d;
  }

  private async file(path: string, create: boolean): Promise<FileSystemFileHandle | null> {
    const p = parts(path);
    const d = await this.dir(p.slice(0, -1), create);
    if (!d) return null;
    try {
      return await d.getFileHandle(p.at(-1)!, { create });
    } catch (err) {
      if ((err as { name?: string }).name === 'NotFoundError') return null;
      throw err;
    }
  }

  async size(path: string): Promise<number | null> {
    const f = await this.file(path, false);
    return f ? (await f.getFile()).size : null;
  }

  async append(path: string, bytes: Uint8Array): Promise<void> {
    try {
      const f = (await this.file(path, true))!;
      const size = (await f.getFile()).size;
      const w = await f.createWritable({ keepExistingData: true });
      await w.write({ type: 'write', position: size, data: bytes as Uint8Array<ArrayBuffer> });
      await w.close();
    } catch (err) {
      throw storageError(err, path);
    }
  }

  async read(path: string, offset: number, length: number): Promise<Uint8Array> {
    const f = await this.file(path, false);
    if (!f) throw new Error(`${path} is not in the browser's model cache`);
    return new Uint8Array(await (await f.getFile()).slice(offset, offset + length).arrayBuffer());
  }

  /** The cached file as a Blob (for random access by the model loader). */
  async blob(path: string): Promise<File> {
    const f = await this.file(path, false);
    if (!f) throw new Error(`${path} is not in the browser's model cache`);
    return f.getFile();
  }

  async rename(from: string, to: string): Promise<void> {
    const src = await this.file(from, false);
    if (!src) throw new Error(`${from} does not exist`);
    await this.remove(to);
    const p = parts(to);
    const d = (await this.dir(p.slice(0, -1), true))!;
    const handle = src as FileSystemFileHandle & {
      move?: (dir: FileSystemDirectoryHandle, name: string) => Promise<void>;
    };
    if (handle.move) {
      await handle.move(d, p.at(-1)!);
      return;
    }
    // Browsers without FileSystemHandle.move: copy, then delete.
    const dst = await d.getFileHandle(p.at(-1)!, { create: true });
    const w = await dst.createWritable();
    await (await src.getFile()).stream().pipeTo(w);
    await this.remove(from);
  }

  async remove(path: string): Promise<void> {
    const p = parts(path);
    const d = await this.dir(p.slice(0, -1), false);
    await d?.removeEntry(p.at(-1)!).catch((err: { name?: string }) => {
      if (err.name !== 'NotFoundError') throw err;
    });
  }

  async removeTree(path: string): Promise<void> {
    const p = parts(path);
    const d = await this.dir(p.slice(0, -1), false);
    await d?.removeEntry(p.at(-1)!, { recursive: true }).catch((err: { name?: string }) => {
      if (err.name !== 'NotFoundError') throw err;
    });
  }

  async readText(path: string): Promise<string | null> {
    const f = await this.file(path, false);
    return f ? (await f.getFile()).text() : null;
  }

  async writeText(path: string, text: string): Promise<void> {
    try {
      const f = (await this.file(path, true))!;
      const w = await f.createWritable();
      await w.write(text);
      await w.close();
    } catch (err) {
      throw storageError(err, path);
    }
  }

  async list(path: string): Promise<string[]> {
    const d = await this.dir(parts(path), false);
    if (!d) return [];
    const names: string[] = [];
    for await (const name of (d as FileSystemDirectoryHandle & { keys(): AsyncIterable<string> }).keys())
      names.push(name);
    return names.sort();
  }
}
