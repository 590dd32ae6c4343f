/**
 * GGUF reader (browser-safe). Layout (little-endian): magic "GGUF", u32 version, u64 tensor count, u64 metadata count,
 * metadata entries (string key, u32 type, value), tensor infos (string name, u32 n_dims, u64 dims innermost first,
 * u32 ggml type, u64 offset from the data start), padding to `general.alignment` (default 32), tensor data.
 * The header is read through a buffered cursor (large tokenizer arrays included); tensors are read on demand.
 */
import { type ByteSource, sourceName } from './byte-source.ts';
import {
  GGML_TYPE_BY_ID,
  GGML_TYPES,
  type GgmlType,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_SCALAR_BYTES,
  GGUF_VALUE_TYPE_BY_ID,
  type GgufArray,
  type GgufArrayItem,
  type GgufValue,
  type GgufValueType,
  ggmlTensorBytes,
} from './gguf-types.ts';

export class GgufError extends Error {
  constructor(fileName: string, message: string) {
    super(`${fileName}: ${message}`);
    this.name = 'GgufError';
  }
}

export interface GgufTensorInfo {
  name: string;
  /** ggml order: innermost first (a torch [out, in] weight has dims [in, out]). */
  dims: number[];
  /** torch order: outermost first (dims reversed). */
  shape: number[];
  type: GgmlType;
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

export interface GgufFile {
  fileName: string;
  fileSize: number;
  version: number;
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  byName: Map<string, GgufTensorInfo>;
  alignment: number;
  /** Absolute offset of the tensor data section. */
  dataOffset: number;
}

const MAX_DIMS = 4;
/**
 * Limits checked before allocating, far above real files (a 405B model has ~1,100 tensors and ~40 metadata keys; the
 * largest arrays, a tokenizer's tokens / merges / scores, hold ~260k items each): metadata arrays nest at most this
 * deep (llama.cpp writes none nested), all arrays together hold at most MAX_METADATA_ITEMS items.
 */
export const GGUF_LIMITS = { tensors: 1_000_000, metadata: 100_000, arrayDepth: 8, metadataItems: 2 ** 25 };
const CHUNK = 1 << 20;
const decoder = new TextDecoder('utf-8');

/** Buffered little-endian reader over a ByteSource; `need(n)` returns a promise only when it has to fetch. */
class Cursor {
  private buf: Uint8Array = new Uint8Array(0);
  private view: DataView = new DataView(new ArrayBuffer(0));
  private bufStart = 0;
  pos = 0;
  /** Array items the rest of the metadata may still hold (GGUF_LIMITS.metadataItems in all). */
  itemsLeft = GGUF_LIMITS.metadataItems;
  constructor(
    private readonly source: ByteSource,
    readonly fileName: string,
  ) {}

  need(n: number): Promise<void> | undefined {
    if (this.pos + n <= this.bufStart + this.buf.byteLength) return undefined;
    return this.fill(n);
  }

  private async fill(n: number): Promise<void> {
    const size = this.source.size;
    if (this.pos + n > size)
      throw new GgufError(
        this.fileName,
        `unexpected end of file at byte ${this.pos} (needs ${n} more bytes, the file has ${size}): truncated or corrupt`,
      );
    const length = Math.max(n, Math.min(CHUNK, size - this.pos));
    this.buf = await this.source.read(this.pos, length);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.bufStart = this.pos;
  }

  private at(n: number): number {
    const o = this.pos - this.bufStart;
    this.pos += n;
    return o;
  }
  u8(): number {
    return this.view.getUint8(this.at(1));
  }
  i8(): number {
    return this.view.getInt8(this.at(1));
  }
  u16(): number {
    return this.view.getUint16(this.at(2), true);
  }
  i16(): number {
    return this.view.getInt16(this.at(2), true);
  }
  u32(): number {
    return this.view.getUint32(this.at(4), true);
  }
  i32(): number {
    return this.view.getInt32(this.at(4), true);
  }
  f32(): number {
    return this.view.getFloat32(this.at(4), true);
  }
  f64(): number {
    return this.view.getFloat64(this.at(8), true);
  }
  u64(): bigint {
    return this.view.getBigUint64(this.at(8), true);
  }
  i64(): bigint {
    return this.view.getBigInt64(this.at(8), true);
  }
  /** A u64 that must fit in a JS number and be at most `max`. */
  count(what: string, max: number): number {
    const v = this.u64();
    if (v > BigInt(max))
      throw new GgufError(this.fileName, `${what} is ${v}, more than the ${max} the file can hold: corrupt`);
    return Number(v);
  }
  bytes(n: number): Uint8Array {
    const o = this.at(n);
    return this.buf.subarray(o, o + n);
  }
  remaining(): number {
    return this.source.size - this.pos;
  }
}

async function readString(c: Cursor, what: string): Promise<string> {
  await c.need(8);
  const n = c.count(`length of ${what}`, c.remaining() - 8);
  const p = c.need(n);
  if (p) await p;
  return decoder.decode(c.bytes(n));
}

function readScalar(c: Cursor, type: Exclude<GgufValueType, 'string' | 'array'>): number | bigint | boolean {
  switch (type) {
    case 'u8':
      return c.u8();
    case 'i8':
      return c.i8();
    case 'u16':
      return c.u16();
    case 'i16':
      return c.i16();
    case 'u32':
      return c.u32();
    case 'i32':
      return c.i32();
    case 'f32':
      return c.f32();
    case 'f64':
      return c.f64();
    case 'bool': {
      const b = c.u8();
      if (b > 1) throw new GgufError(c.fileName, `bool value ${b} at byte ${c.pos - 1} is neither 0 nor 1: corrupt`);
      return b === 1;
    }
    case 'u64':
      return c.u64();
    case 'i64':
      return c.i64();
  }
}

function valueTypeOf(c: Cursor, id: number, key: string): GgufValueType {
  const t = GGUF_VALUE_TYPE_BY_ID.get(id);
  if (t === undefined)
    throw new GgufError(c.fileName, `metadata "${key}" has unknown value type ${id}: corrupt or a newer GGUF`);
  return t;
}

async function readArray(c: Cursor, key: string, depth = 1): Promise<GgufArray> {
  if (depth > GGUF_LIMITS.arrayDepth)
    throw new GgufError(
      c.fileName,
      `metadata "${key.split('[')[0]}" nests arrays more than ${GGUF_LIMITS.arrayDepth} deep: corrupt`,
    );
  await c.need(12);
  const itemType = valueTypeOf(c, c.u32(), key);
  const minItem = itemType === 'string' ? 8 : itemType === 'array' ? 12 : GGUF_SCALAR_BYTES[itemType];
  const count = c.count(`item count of "${key}"`, Math.floor(c.remaining() / minItem));
  if (count > c.itemsLeft)
    throw new GgufError(
      c.fileName,
      `metadata "${key}" holds ${count} items, more than the ${GGUF_LIMITS.metadataItems} all metadata arrays may hold together: corrupt`,
    );
  c.itemsLeft -= count;
  const items: GgufArrayItem[] = new Array(count);
  for (let i = 0; i < count; i++) {
    if (itemType === 'string') items[i] = await readString(c, `"${key}"[${i}]`);
    else if (itemType === 'array') items[i] = await readArray(c, `${key}[${i}]`, depth + 1);
    else {
      const p = c.need(minItem);
      if (p) await p;
      items[i] = readScalar(c, itemType);
    }
  }
  return { type: 'array', itemType, items };
}

async function readValue(c: Cursor, type: GgufValueType, key: string): Promise<GgufValue> {
  if (type === 'string') return { type, value: await readString(c, `"${key}"`) };
  if (type === 'array') return readArray(c, key);
  await c.need(GGUF_SCALAR_BYTES[type]);
  const value = readScalar(c, type);
  return { type, value } as GgufValue;
}

/** Reads and validates a GGUF header: metadata and tensor infos (no tensor data). */
export async function readGguf(source: ByteSource, fileName = sourceName(source, 'model.gguf')): Promise<GgufFile> {
  const c = new Cursor(source, fileName);
  if (source.size < 24)
    throw new GgufError(
      fileName,
      `the file has ${source.size} bytes, too few for a GGUF header: truncated or not GGUF`,
    );
  await c.need(24);
  const magic = c.u32();
  if (magic !== GGUF_MAGIC) throw new GgufError(fileName, 'does not start with "GGUF": not a GGUF file');
  const version = c.u32();
  if (version === 0x03000000 || version === 0x02000000)
    throw new GgufError(fileName, 'is a big-endian GGUF, which is not supported');
  if (version !== 2 && version !== 3)
    throw new GgufError(fileName, `GGUF version ${version} is not supported (2 and 3 are)`);
  const tensorCount = c.count('tensor count', Math.min(GGUF_LIMITS.tensors, Math.floor(c.remaining() / 32)));
  const kvCount = c.count('metadata count', Math.min(GGUF_LIMITS.metadata, Math.floor(c.remaining() / 12)));

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = await readString(c, `metadata key #${i}`);
    if (metadata.has(key)) throw new GgufError(fileName, `metadata key "${key}" appears twice: corrupt`);
    await c.need(4);
    const type = valueTypeOf(c, c.u32(), key);
    metadata.set(key, await readValue(c, type, key));
  }

  const alignValue = metadata.get('general.alignment');
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  if (alignValue !== undefined) {
    if (alignValue.type !== 'u32' || alignValue.value <= 0)
      throw new GgufError(fileName, 'general.alignment must be a positive u32');
    alignment = alignValue.value;
  }

  const raw: { name: string; dims: number[]; typeId: number; offset: number }[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = await readString(c, `tensor name #${i}`);
    await c.need(4);
    const nDims = c.u32();
    if (nDims < 1 || nDims > MAX_DIMS)
      throw new GgufError(fileName, `tensor "${name}" has ${nDims} dimensions (1 to ${MAX_DIMS} allowed): corrupt`);
    await c.need(8 * nDims + 12);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(c.count(`dimension ${d} of "${name}"`, Number.MAX_SAFE_INTEGER));
    const typeId = c.u32();
    const offset = c.count(`offset of "${name}"`, source.size);
    raw.push({ name, dims, typeId, offset });
  }
  const dataOffset = Math.ceil(c.pos / alignment) * alignment;

  const tensors: GgufTensorInfo[] = [];
  const byName = new Map<string, GgufTensorInfo>();
  for (const r of raw) {
    const type = GGML_TYPE_BY_ID.get(r.typeId);
    if (type === undefined) {
      throw new GgufError(
        fileName,
        `tensor "${r.name}" has ggml type ${r.typeId}, which this app cannot read (supported: ${Object.keys(GGML_TYPES).join(', ')})`,
      );
    }
    if (byName.has(r.name)) throw new GgufError(fileName, `tensor "${r.name}" appears twice: corrupt`);
    if (r.offset % alignment !== 0)
      throw new GgufError(
        fileName,
        `tensor "${r.name}" offset ${r.offset} is not a multiple of the alignment ${alignment}: corrupt`,
      );
    const count = r.dims.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(count) || count > source.size * 8)
      throw new GgufError(
        fileName,
        `tensor "${r.name}" has dims [${r.dims.join(', ')}]: more values than the file can hold (corrupt)`,
      );
    let bytes: number;
    try {
      bytes = ggmlTensorBytes(type, r.dims[0]!, count);
    } catch (err) {
      throw new GgufError(fileName, `tensor "${r.name}": ${(err as Error).message}`);
    }
    const begin = dataOffset + r.offset;
    if (begin + bytes > source.size) {
      throw new GgufError(
        fileName,
        `tensor "${r.name}" (${type}, ${bytes} bytes at ${begin}) runs past the end of the file (${source.size} bytes): truncated`,
      );
    }
    const info: GgufTensorInfo = {
      name: r.name,
      dims: r.dims,
      shape: [...r.dims].reverse(),
      type,
      begin,
      end: begin + bytes,
    };
    tensors.push(info);
    byName.set(r.name, info);
  }
  // Tensors may be stored in any order but must not share bytes: overlapping offsets mean a corrupt header.
  const sorted = [...tensors].sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const t = sorted[i]!;
    if (t.begin < prev.end && t.end > t.begin && prev.end > prev.begin)
      throw new GgufError(
        fileName,
        `tensor "${t.name}" (bytes ${t.begin}–${t.end}) overlaps tensor "${prev.name}" (bytes ${prev.begin}–${prev.end}): the tensor offsets are corrupt`,
      );
  }
  return { fileName, fileSize: source.size, version, metadata, tensors, byName, alignment, dataOffset };
}

/** The raw bytes of one tensor (blocks as stored). */
export function readGgufTensor(source: ByteSource, info: GgufTensorInfo): Promise<Uint8Array> {
  return source.read(info.begin, info.end - info.begin);
}

/** A metadata value as a plain JS value (arrays as arrays; u64/i64 as numbers when safe, else bigints). */
export function ggufPlain(value: GgufValue | GgufArrayItem): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value;
  if (typeof value !== 'object') return value;
  if (value.type === 'array') return value.items.map(ggufPlain);
  return ggufPlain(value.value);
}

/** A numeric metadata value (any integer or float type), or undefined when absent. */
export function ggufNumber(file: GgufFile, key: string): number | undefined {
  const v = file.metadata.get(key);
  if (v === undefined) return undefined;
  const plain = ggufPlain(v);
  if (typeof plain !== 'number')
    throw new GgufError(file.fileName, `metadata "${key}" is ${v.type}, expected a number`);
  return plain;
}

export function ggufString(file: GgufFile, key: string): string | undefined {
  const v = file.metadata.get(key);
  if (v === undefined) return undefined;
  if (v.type !== 'string') throw new GgufError(file.fileName, `metadata "${key}" is ${v.type}, expected a string`);
  return v.value;
}

export function ggufBool(file: GgufFile, key: string): boolean | undefined {
  const v = file.metadata.get(key);
  if (v === undefined) return undefined;
  if (v.type !== 'bool') throw new GgufError(file.fileName, `metadata "${key}" is ${v.type}, expected a bool`);
  return v.value;
}
