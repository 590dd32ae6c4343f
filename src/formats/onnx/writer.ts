/**
 * Writes a GraphBuilder as an ONNX model file, streaming the large initializers one at a time:
 *
 *   inline    model.onnx = ModelProto{ir_version, opsets, graph{nodes, inputs, outputs, small constants}}
 *             followed by one ModelProto{graph{initializer: [t]}} per large tensor. Protobuf parsers merge
 *             concatenated messages (repeated fields append, embedded messages merge), so the file reads as one
 *             ModelProto while the writer holds one tensor at a time. Each piece is encoded by protobufjs.
 *   external  the tensor bytes go to model.onnx_data (and model.onnx_data_1, … each at most `chunkBytes`), the
 *             graph's TensorProtos point at them (data_location EXTERNAL, location/offset/length), and model.onnx
 *             holds the graph only. Needed above 2 GB: protobuf messages are limited to 2 GiB.
 * The data file names follow transformers.js (`<file>_data`, `<file>_data_<i>`), which loads them when config.json's
 * transformers.js_config.use_external_data_format names their count. Browser-safe.
 */
import { type GraphBuilder, type LazyInitializer, ONNX_DTYPE } from './graph.ts';
import { onnx } from './onnx-pb.js';

/** One file being written (a FileSink's file: sequential chunks). */
export interface OnnxSinkFile {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort?(): Promise<void>;
}
export interface OnnxSink {
  open(name: string): Promise<OnnxSinkFile>;
}

export interface OnnxOpset {
  domain: string;
  version: number;
}

export interface OnnxWriteOptions {
  /** File name of the model inside the sink, e.g. "onnx/model.onnx". */
  file: string;
  opsets: OnnxOpset[];
  /** 'auto' (default): external data when the tensors exceed `inlineLimit`. */
  external?: 'auto' | 'always' | 'never';
  /** With external data: large tensors that stay inline all the same (a kept-separate adapter beside shared base data). */
  keepInline?: (t: LazyInitializer) => boolean;
  /** Largest inline model in bytes (default 1.9 GiB, under protobuf's 2 GiB). */
  inlineLimit?: number;
  /** Largest external data file in bytes (default 2 GiB; a larger single tensor gets a file of its own). */
  chunkBytes?: number;
  producer?: { name: string; version: string };
  /** Key/value pairs stored in ModelProto.metadata_props. */
  metadata?: Record<string, string>;
  /** Called after each tensor with the bytes written so far, of `total`. */
  onProgress?: (done: number, total: number) => void;
  /** Checked between tensors; true stops the write with an AbortError. */
  cancelled?: () => boolean;
}

export interface OnnxWriteResult {
  files: { name: string; bytes: number }[];
  /** External data files (names relative to the model's folder), empty when inline. */
  dataFiles: string[];
}

/** Produces the bytes of each lazy initializer, in declaration order, exactly `byteLength` long. */
export type TensorBytes = (t: LazyInitializer) => Promise<Uint8Array>;

const IR_VERSION = 8;
const ALIGN = 64;

function base(file: string): { dir: string; name: string } {
  const i = file.lastIndexOf('/');
  return i < 0 ? { dir: '', name: file } : { dir: file.slice(0, i + 1), name: file.slice(i + 1) };
}

/** `model.onnx_data`, `model.onnx_data_1`, … as transformers.js names the chunks. */
export function externalDataName(modelName: string, i: number): string {
  return `${modelName}_data${i === 0 ? '' : `_${i}`}`;
}

async function withFile<T>(sink: OnnxSink, name: string, fn: (f: OnnxSinkFile) => Promise<T>): Promise<T> {
  const f = await sink.open(name);
  let v: T;
  try {
    v = await fn(f);
  } catch (err) {
    await f.abort?.().catch(() => undefined);
    throw err;
  }
  await f.close();
  return v;
}

function cancelled(opts: OnnxWriteOptions): void {
  if (opts.cancelled?.()) throw new DOMException('The ONNX export was cancelled.', 'AbortError');
}

export async function writeOnnxModel(
  sink: OnnxSink,
  g: GraphBuilder,
  bytesOf: TensorBytes,
  opts: OnnxWriteOptions,
): Promise<OnnxWriteResult> {
  const total = g.lazy.reduce((s, t) => s + t.byteLength, 0);
  const inlineLimit = opts.inlineLimit ?? 1.9 * 1024 ** 3;
  const external = opts.external === 'always' || (opts.external !== 'never' && total > inlineLimit);
  const outside = external ? g.lazy.filter((t) => !opts.keepInline?.(t)) : [];
  const inside = external ? g.lazy.filter((t) => opts.keepInline?.(t)) : g.lazy;
  const insideBytes = inside.reduce((s, t) => s + t.byteLength, 0);
  if (insideBytes > 2 * 1024 ** 3 - 1)
    throw new Error(`The model's tensors (${insideBytes} bytes) exceed protobuf's 2 GiB: write them as external data.`);
  const chunkBytes = opts.chunkBytes ?? 2 * 1024 ** 3;
  const { dir, name } = base(opts.file);
  const files: OnnxWriteResult['files'] = [];

  // Where each external tensor goes: consecutive tensors per data file, offsets aligned to 64 bytes.
  const placed = new Map<string, { file: string; offset: number }>();
  let fileIndex = 0;
  let at = 0;
  for (const t of outside) {
    let offset = Math.ceil(at / ALIGN) * ALIGN;
    if (offset > 0 && offset + t.byteLength > chunkBytes) {
      fileIndex++;
      offset = 0;
    }
    placed.set(t.name, { file: externalDataName(name, fileIndex), offset });
    at = offset + t.byteLength;
  }
  const dataFiles =
    outside.length > 0 ? Array.from({ length: fileIndex + 1 }, (_, i) => externalDataName(name, i)) : [];

  const tensorProto = (t: LazyInitializer, raw?: Uint8Array): onnx.TensorProto.$Properties => {
    const p: onnx.TensorProto.$Properties = { name: t.name, data_type: ONNX_DTYPE[t.dtype], dims: t.dims };
    if (raw) return { ...p, raw_data: raw };
    const where = placed.get(t.name)!;
    return {
      ...p,
      data_location: onnx.TensorProto.DataLocation.EXTERNAL,
      external_data: [
        { key: 'location', value: where.file },
        { key: 'offset', value: String(where.offset) },
        { key: 'length', value: String(t.byteLength) },
      ],
    };
  };

  let done = 0;
  const next = async (t: LazyInitializer): Promise<Uint8Array> => {
    cancelled(opts);
    const bytes = await bytesOf(t);
    if (bytes.byteLength !== t.byteLength)
      throw new Error(`internal: tensor ${t.name} has ${bytes.byteLength} bytes, expected ${t.byteLength}`);
    done += bytes.byteLength;
    return bytes;
  };

  // External data files first, in order; then the model file that points at them.
  let current: OnnxSinkFile | null = null;
  let currentName = '';
  let written = 0;
  try {
    for (const t of outside) {
      const where = placed.get(t.name)!;
      if (where.file !== currentName) {
        if (current) {
          await current.close();
          files.push({ name: dir + currentName, bytes: written });
        }
        currentName = where.file;
        current = await sink.open(dir + currentName);
        written = 0;
      }
      const bytes = await next(t);
      if (where.offset > written) await current!.write(new Uint8Array(where.offset - written));
      await current!.write(bytes);
      written = where.offset + bytes.byteLength;
      opts.onProgress?.(done, total);
    }
    if (current) {
      await current.close();
      files.push({ name: dir + currentName, bytes: written });
      current = null;
    }
  } catch (err) {
    await current?.abort?.().catch(() => undefined);
    throw err;
  }

  const head: onnx.ModelProto.$Properties = {
    ir_version: IR_VERSION,
    opset_import: opts.opsets.map((o) => ({ domain: o.domain, version: o.version })),
    producer_name: opts.producer?.name ?? 'LoRA Studio',
    producer_version: opts.producer?.version ?? '0.1.0',
    metadata_props: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: g.name,
      node: g.nodes,
      input: g.inputs,
      output: g.outputs,
      initializer: [...g.constants, ...outside.map((t) => tensorProto(t))],
    },
  };
  const size = await withFile(sink, opts.file, async (f) => {
    const first = onnx.ModelProto.encode(head).finish();
    await f.write(first);
    let n = first.byteLength;
    for (const t of inside) {
      const piece = onnx.ModelProto.encode({ graph: { initializer: [tensorProto(t, await next(t))] } }).finish();
      await f.write(piece);
      n += piece.byteLength;
      opts.onProgress?.(done, total);
    }
    return n;
  });
  files.push({ name: opts.file, bytes: size });
  return { files, dataFiles };
}
