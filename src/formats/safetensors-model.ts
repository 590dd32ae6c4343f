/**
 * A model's tensors across one `model.safetensors` or several shards listed in `model.safetensors.index.json`
 * (`{"metadata": {"total_size": n}, "weight_map": {"tensor": "model-00001-of-00002.safetensors"}}`): each tensor is
 * routed to its shard and read on demand. Browser-safe: shards are opened through a caller-supplied function.
 */
import { z } from 'zod';
import type { ByteSource } from './byte-source.ts';
import {
  readSafetensorsHeader,
  readSafetensorsTensor,
  SafetensorsError,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
  tensorBytesToF32,
} from './safetensors.ts';
import { formatIssues } from '../schema/issues.ts';

export const SAFETENSORS_SINGLE_FILE = 'model.safetensors';
export const SAFETENSORS_INDEX_FILE = 'model.safetensors.index.json';

export interface SafetensorsIndex {
  /** `metadata.total_size` when present (bytes of tensor data; informational). */
  totalSize: number | null;
  metadata: Record<string, unknown>;
  /** tensor name → shard file name */
  weightMap: Map<string, string>;
  /** Shard file names in first-appearance order. */
  shards: string[];
}

const IndexSchema = z.object({
  metadata: z.record(z.string(), z.unknown()).nullish(),
  weight_map: z.record(z.string(), z.string().min(1)),
});

export function parseSafetensorsIndex(text: string, fileName = SAFETENSORS_INDEX_FILE): SafetensorsIndex {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SafetensorsError(fileName, `not valid JSON (${(err as Error).message})`);
  }
  const parsed = IndexSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error);
    throw new SafetensorsError(fileName, `not a safetensors index: ${issues}`);
  }
  const metadata = parsed.data.metadata ?? {};
  const total = metadata.total_size;
  const weightMap = new Map(Object.entries(parsed.data.weight_map));
  const shards = [...new Set(weightMap.values())];
  for (const shard of shards) {
    if (
      shard.includes('..') ||
      shard.startsWith('/') ||
      shard.includes('\\') ||
      /[\u0000-\u001f\u007f-\u009f]/.test(shard) ||
      !shard.endsWith('.safetensors')
    )
      throw new SafetensorsError(
        fileName,
        `weight_map: shard name ${JSON.stringify(shard)} is not a plain relative *.safetensors file name`,
      );
  }
  return { totalSize: typeof total === 'number' ? total : null, metadata, weightMap, shards };
}

export interface SafetensorsTensorRef extends SafetensorsTensorInfo {
  /** The file (shard) holding the tensor. */
  file: string;
}

/** All tensors of a model, single file or sharded, readable one at a time. */
export class SafetensorsModel {
  readonly tensors: SafetensorsTensorRef[];
  private readonly byName: Map<string, SafetensorsTensorRef>;

  private constructor(
    private readonly sources: Map<string, ByteSource>,
    readonly headers: Map<string, SafetensorsHeader>,
    tensors: SafetensorsTensorRef[],
  ) {
    this.tensors = tensors;
    this.byName = new Map(tensors.map((t) => [t.name, t]));
  }

  /** `__metadata__` of the first file (shards usually carry the same). */
  get metadata(): Record<string, string> | null {
    const first = this.headers.values().next();
    return first.done ? null : first.value.metadata;
  }

  static async openSingle(
    source: ByteSource,
    file = source.name ?? SAFETENSORS_SINGLE_FILE,
  ): Promise<SafetensorsModel> {
    const header = await readSafetensorsHeader(source, file);
    return new SafetensorsModel(
      new Map([[file, source]]),
      new Map([[file, header]]),
      header.tensors.map((t) => ({ ...t, file })),
    );
  }

  /** Opens every shard of `index` (through `openShard`) and routes each tensor of its weight_map to its shard. */
  static async openSharded(
    index: SafetensorsIndex,
    openShard: (file: string) => Promise<ByteSource>,
  ): Promise<SafetensorsModel> {
    const sources = new Map<string, ByteSource>();
    const headers = new Map<string, SafetensorsHeader>();
    for (const file of index.shards) {
      const source = await openShard(file);
      sources.set(file, source);
      headers.set(file, await readSafetensorsHeader(source, file));
    }
    const tensors: SafetensorsTensorRef[] = [];
    for (const [name, file] of index.weightMap) {
      const info = headers.get(file)!.byName.get(name);
      if (!info)
        throw new SafetensorsError(
          file,
          `the index routes tensor "${name}" to this shard, but the shard does not contain it`,
        );
      tensors.push({ ...info, file });
    }
    return new SafetensorsModel(sources, headers, tensors);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get(name: string): SafetensorsTensorRef {
    const t = this.byName.get(name);
    if (!t)
      throw new Error(
        `tensor "${name}" is not in this model (${this.tensors.length} tensors in ${[...this.headers.keys()].join(', ')})`,
      );
    return t;
  }

  /** Raw little-endian bytes of one tensor. */
  readBytes(name: string): Promise<Uint8Array> {
    const t = this.get(name);
    return readSafetensorsTensor(this.sources.get(t.file)!, t);
  }

  /** One tensor converted to f32. */
  async readF32(name: string): Promise<Float32Array> {
    const t = this.get(name);
    return tensorBytesToF32(t.dtype, await this.readBytes(name));
  }
}
