/**
 * A model folder, wherever it lives: dropped files or OPFS files in the browser (`FilesModelSource`, here), a folder
 * on disk in Node (`NodeFolderModelSource`, ./source-node.ts). The loader reads it through this interface only, one
 * byte range at a time, and `detectLayout` tells which of the supported layouts it holds:
 *   config.json + model.safetensors
 *   config.json + model.safetensors.index.json + the shards it names
 *   one *.gguf file (the config comes from its metadata)
 */
import { BlobByteSource, type ByteSource } from '../formats/byte-source.ts';
import {
  SAFETENSORS_INDEX_FILE,
  SAFETENSORS_SINGLE_FILE,
  type SafetensorsIndex,
  parseSafetensorsIndex,
} from '../formats/safetensors-model.ts';

/** A ByteSource the loader closes when it is done with it (Node file handles); browser sources need no closing. */
export type ModelByteSource = ByteSource & { close?(): Promise<void> };

export interface ModelSource {
  /** For messages: the folder name or path. */
  readonly name: string;
  /** File names in the folder, '/'-separated and relative to it. */
  list(): string[];
  /** A random-access source over one file (rejects when the file is not in `list()`). */
  open(file: string): Promise<ModelByteSource>;
  /** A small text file (config.json, the index), or null when absent. */
  readText(file: string): Promise<string | null>;
}

/** A model folder that cannot be loaded: the message says what is wrong and, where it can, what to do. */
export class ModelLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelLoadError';
  }
}

export type ModelLayout =
  | { kind: 'safetensors'; config: unknown; file: string }
  | { kind: 'sharded'; config: unknown; index: SafetensorsIndex }
  | { kind: 'gguf'; file: string };

function parseJson(source: ModelSource, file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ModelLoadError(`${source.name}/${file} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Finds the layout of a model folder. safetensors wins over GGUF when both are present (the HF config is then
 * authoritative); several GGUF files without safetensors are ambiguous and refused (name the one to load instead).
 */
export async function detectLayout(source: ModelSource): Promise<ModelLayout> {
  const files = source.list();
  const has = (f: string) => files.includes(f);
  const ggufs = files.filter((f) => f.toLowerCase().endsWith('.gguf'));
  if (has(SAFETENSORS_SINGLE_FILE) || has(SAFETENSORS_INDEX_FILE)) {
    const text = await source.readText('config.json');
    if (text === null)
      throw new ModelLoadError(
        `${source.name} has safetensors weights but no config.json: the model's shape is unknown. Add the config.json of the same repository.`,
      );
    const config = parseJson(source, 'config.json', text);
    if (has(SAFETENSORS_SINGLE_FILE)) return { kind: 'safetensors', config, file: SAFETENSORS_SINGLE_FILE };
    const index = parseSafetensorsIndex((await source.readText(SAFETENSORS_INDEX_FILE))!, SAFETENSORS_INDEX_FILE);
    const missing = index.shards.filter((s) => !has(s));
    if (missing.length > 0)
      throw new ModelLoadError(
        `${source.name}: ${SAFETENSORS_INDEX_FILE} lists shard(s) that are not in the folder: ${missing.join(', ')}. The download is incomplete.`,
      );
    return { kind: 'sharded', config, index };
  }
  if (ggufs.length === 1) return { kind: 'gguf', file: ggufs[0]! };
  if (ggufs.length > 1)
    throw new ModelLoadError(
      `${source.name} holds ${ggufs.length} GGUF files (${ggufs.join(', ')}): pick one (a folder or file list with just that file).`,
    );
  const others = files.filter((f) => f.endsWith('.safetensors') || f.endsWith('.bin') || f.endsWith('.pt'));
  const hint = others.some((f) => f.endsWith('.bin') || f.endsWith('.pt'))
    ? ' It has PyTorch .bin/.pt weights, which cannot be read here: use the safetensors version of the model.'
    : others.length > 0
      ? ` It has ${others.join(', ')} but neither ${SAFETENSORS_SINGLE_FILE} nor ${SAFETENSORS_INDEX_FILE}.`
      : '';
  throw new ModelLoadError(
    `${source.name} has no model weights: expected config.json with ${SAFETENSORS_SINGLE_FILE} or ${SAFETENSORS_INDEX_FILE} and its shards, or a single .gguf file.${hint}`,
  );
}

/** Strips a common top folder ("Qwen2.5-0.5B/config.json" → "config.json"), as a dropped folder's relative paths have. */
function stripCommonFolder(paths: string[]): { prefix: string; names: string[] } {
  const first = paths[0]?.split('/')[0];
  if (first === undefined || !paths.every((p) => p.includes('/') && p.split('/')[0] === first))
    return { prefix: '', names: paths };
  return { prefix: first, names: paths.map((p) => p.slice(first.length + 1)) };
}

/**
 * A model folder given as browser Files or Blobs (a dropped folder, a file picker, OPFS `getFile()` results), keyed
 * by relative path; `File.webkitRelativePath` or the name is used for a plain list of Files.
 */
export class FilesModelSource implements ModelSource {
  readonly name: string;
  private readonly files = new Map<string, Blob>();

  constructor(files: Map<string, Blob> | Iterable<File>, name?: string) {
    const entries: [string, Blob][] =
      files instanceof Map ? [...files] : [...files].map((f) => [f.webkitRelativePath || f.name, f]);
    const { prefix, names } = stripCommonFolder(entries.map(([p]) => p.replace(/\\/g, '/').replace(/^\/+/, '')));
    names.forEach((n, i) => this.files.set(n, entries[i]![1]));
    this.name = name ?? (prefix || 'model files');
  }

  list(): string[] {
    return [...this.files.keys()];
  }

  private blob(file: string): Blob {
    const b = this.files.get(file);
    if (!b) throw new ModelLoadError(`${this.name}: file ${file} is missing`);
    return b;
  }

  async open(file: string): Promise<ModelByteSource> {
    return new BlobByteSource(this.blob(file), file);
  }

  async readText(file: string): Promise<string | null> {
    const b = this.files.get(file);
    return b ? b.text() : null;
  }
}
