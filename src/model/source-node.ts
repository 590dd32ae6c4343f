/** Node-only: a model folder on disk as a ModelSource (files read with positioned reads, never whole). */
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { NodeFileByteSource } from '../formats/byte-source-node.ts';
import { type ModelByteSource, ModelLoadError, type ModelSource } from './source.ts';

export class NodeFolderModelSource implements ModelSource {
  private constructor(
    readonly root: string,
    readonly name: string,
    private readonly files: string[],
  ) {}

  /**
   * Opens a folder (its top-level files), or a single file (a .gguf, or a model.safetensors next to its config.json:
   * then the folder is the file's).
   */
  static async open(path: string): Promise<NodeFolderModelSource> {
    const full = resolve(path);
    let info;
    try {
      info = await stat(full);
    } catch {
      throw new ModelLoadError(`${path}: no such file or folder`);
    }
    if (info.isFile()) {
      if (full.toLowerCase().endsWith('.gguf'))
        return new NodeFolderModelSource(resolve(full, '..'), basename(full), [basename(full)]);
      return NodeFolderModelSource.open(resolve(full, '..'));
    }
    const entries = await readdir(full, { withFileTypes: true });
    const files = entries.filter((e) => e.isFile()).map((e) => e.name);
    return new NodeFolderModelSource(full, basename(full), files);
  }

  list(): string[] {
    return [...this.files];
  }

  async open(file: string): Promise<ModelByteSource> {
    if (!this.files.includes(file)) throw new ModelLoadError(`${this.name}: file ${file} is missing`);
    return NodeFileByteSource.open(join(this.root, file));
  }

  async readText(file: string): Promise<string | null> {
    if (!this.files.includes(file)) return null;
    return readFile(join(this.root, file), 'utf8');
  }
}
