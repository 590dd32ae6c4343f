/** FileStore on a folder of the local disk (Node: CLI downloads and tests). */
import { appendFile, mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FileStore } from './file-store.ts';

export class NodeFileStore implements FileStore {
  constructor(readonly root: string) {}

  private at(path: string): string {
    return join(this.root, ...path.split('/').filter(Boolean));
  }

  async size(path: string): Promise<number | null> {
    try {
      return (await stat(this.at(path))).size;
    } catch {
      return null;
    }
  }

  async append(path: string, bytes: Uint8Array): Promise<void> {
    await mkdir(dirname(this.at(path)), { recursive: true });
    await appendFile(this.at(path), bytes);
  }

  async read(path: string, offset: number, length: number): Promise<Uint8Array> {
    const fh = await open(this.at(path), 'r');
    try {
      const buf = new Uint8Array(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }

  async rename(from: string, to: string): Promise<void> {
    await mkdir(dirname(this.at(to)), { recursive: true });
    await rename(this.at(from), this.at(to));
  }

  async remove(path: string): Promise<void> {
    await rm(this.at(path), { force: true });
  }

  async removeTree(path: string): Promise<void> {
    await rm(this.at(path), { force: true, recursive: true });
  }

  async readText(path: string): Promise<string | null> {
    try {
      return await readFile(this.at(path), 'utf8');
    } catch {
      return null;
    }
  }

  async writeText(path: string, text: string): Promise<void> {
    await mkdir(dirname(this.at(path)), { recursive: true });
    await writeFile(this.at(path), text);
  }

  async list(path: string): Promise<string[]> {
    try {
      return (await readdir(this.at(path))).sort();
    } catch {
      return [];
    }
  }
}
