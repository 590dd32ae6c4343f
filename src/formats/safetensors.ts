/**
 * safetensors reader (browser-safe): `u64 LE header length N`, N bytes of JSON, then the data buffer.
 * Header: `{"name": {"dtype", "shape", "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}}`, offsets
 * relative to the data buffer, tensors contiguous and row-major. Only the header is read up front; tensors are read one
 * at a time from a ByteSource.
 */
import { z } from 'zod';
import { type ByteSource, sourceName } from './byte-source.ts';
import { bf16ArrayToF32, f16ArrayToF32 } from './half.ts';
import { formatIssues } from '../schema/issues.ts';

/** Bytes per element of every safetensors dtype this reader accepts. */
export const SAFETENSORS_DTYPE_BYTES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;
export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPE_BYTES;
const DTYPES = Object.keys(SAFETENSORS_DTYPE_BYTES) as [SafetensorsDtype, ...SafetensorsDtype[]];

/** Same limit as the reference implementation: a header over 100 MB is treated as corrupt. */
export const MAX_HEADER_BYTES = 100_000_000;

export class SafetensorsError extends Error {
  constructor(fileName: string, message: string) {
    super(`${fileName}: ${message}`);
    this.name = 'SafetensorsError';
  }
}

export interface SafetensorsTensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  /** Row-major, outermost first (torch order). */
  shape: number[];
  /** Absolute byte range in the file: [begin, end). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  fileName: string;
  fileSize: number;
  /** Length of the JSON header (including padding). */
  headerLength: number;
  /** Absolute offset of the data buffer: 8 + headerLength. */
  dataOffset: number;
  /** Tensors in file order (ascending offsets). */
  tensors: SafetensorsTensorInfo[];
  byName: Map<string, SafetensorsTensorInfo>;
  /** `__metadata__` (strings only), or null when absent. */
  metadata: Record<string, string> | null;
}

const offset = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const TensorEntrySchema = z.object({
  dtype: z.enum(DTYPES),
  shape: z.array(offset).max(8),
  data_offsets: z.tuple([offset, offset]),
});
const MetadataSchema = z.record(z.string(), z.string());

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function describeIssues(error: z.ZodError): string {
  return formatIssues(error);
}

/** Validates the JSON header bytes of a file of `fileSize` bytes whose header is `headerLength` bytes long. */
export function parseSafetensorsHeader(
  json: Uint8Array,
  fileSize: number,
  fileName = 'model.safetensors',
): SafetensorsHeader {
  const headerLength = json.byteLength;
  const dataOffset = 8 + headerLength;
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (err) {
    throw new SafetensorsError(
      fileName,
      `the header is not valid UTF-8 JSON (${(err as Error).message}); the file is corrupt or not safetensors`,
    );
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new SafetensorsError(fileName, 'the header is not a JSON object');
  const entries = Object.entries(raw as Record<string, unknown>);
  let metadata: Record<string, string> | null = null;
  const tensors: SafetensorsTensorInfo[] = [];
  for (const [name, value] of entries) {
    if (name === '__metadata__') {
      const parsed = MetadataSchema.safeParse(value);
      if (!parsed.success)
        throw new SafetensorsError(
          fileName,
          `__metadata__ must map strings to strings: ${describeIssues(parsed.error)}`,
        );
      metadata = parsed.data;
      continue;
    }
    const parsed = TensorEntrySchema.safeParse(value);
    if (!parsed.success)
      throw new SafetensorsError(
        fileName,
        `tensor "${name}" has an invalid header entry: ${describeIssues(parsed.error)}`,
      );
    const { dtype, shape, data_offsets } = parsed.data;
    const [begin, end] = data_offsets;
    const expected = elementCount(shape) * SAFETENSORS_DTYPE_BYTES[dtype];
    if (!Number.isSafeInteger(expected) || expected > fileSize)
      throw new SafetensorsError(
        fileName,
        `tensor "${name}" (${dtype} [${shape.join(', ')}]) would need ${expected} bytes, more than the file's ${fileSize}: the header is corrupt`,
      );
    if (end < begin || end - begin !== expected) {
      throw new SafetensorsError(
        fileName,
        `tensor "${name}" (${dtype} [${shape.join(', ')}]) needs ${expected} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`,
      );
    }
    tensors.push({ name, dtype, shape, begin: dataOffset + begin, end: dataOffset + end });
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const dataLength = fileSize - dataOffset;
  let cursor = dataOffset;
  for (const t of tensors) {
    if (t.begin !== cursor) {
      const what =
        t.begin < cursor ? 'overlaps the previous tensor' : `leaves a gap of ${t.begin - cursor} bytes before it`;
      throw new SafetensorsError(
        fileName,
        `tensor "${t.name}" at data offset ${t.begin - dataOffset} ${what}; the header is corrupt`,
      );
    }
    cursor = t.end;
  }
  if (cursor - dataOffset !== dataLength) {
    const reason = cursor - dataOffset > dataLength ? 'the file is truncated' : 'the file has trailing bytes';
    throw new SafetensorsError(
      fileName,
      `the header describes ${cursor - dataOffset} bytes of tensor data but the file holds ${dataLength}: ${reason}`,
    );
  }
  const byName = new Map<string, SafetensorsTensorInfo>();
  for (const t of tensors) byName.set(t.name, t);
  return { fileName, fileSize, headerLength, dataOffset, tensors, byName, metadata };
}

/** Reads and validates the header of a safetensors file. */
export async function readSafetensorsHeader(
  source: ByteSource,
  fileName = sourceName(source, 'model.safetensors'),
): Promise<SafetensorsHeader> {
  if (source.size < 8)
    throw new SafetensorsError(
      fileName,
      `the file has ${source.size} bytes, fewer than the 8-byte header length: truncated or not safetensors`,
    );
  const prefix = await source.read(0, 8);
  const n64 = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES))
    throw new SafetensorsError(
      fileName,
      `header length ${n64} exceeds ${MAX_HEADER_BYTES} bytes: corrupt or not safetensors`,
    );
  const n = Number(n64);
  if (n < 2)
    throw new SafetensorsError(
      fileName,
      `header length ${n} is too small for a JSON object: corrupt or not safetensors`,
    );
  if (8 + n > source.size)
    throw new SafetensorsError(
      fileName,
      `header length ${n} runs past the end of the file (${source.size} bytes): truncated`,
    );
  const json = await source.read(8, n);
  if (json[0] !== 0x7b)
    throw new SafetensorsError(fileName, 'the header does not start with "{": corrupt or not safetensors');
  return parseSafetensorsHeader(json, source.size, fileName);
}

/** The raw bytes of one tensor (little-endian, row-major). */
export function readSafetensorsTensor(source: ByteSource, info: SafetensorsTensorInfo): Promise<Uint8Array> {
  return source.read(info.begin, info.end - info.begin);
}

/** Bytes as a typed array of `bytesPerElement`, copying only when the view is misaligned. */
function aligned(bytes: Uint8Array, bytesPerElement: number): ArrayBuffer {
  if (bytes.byteOffset % bytesPerElement === 0 && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  return bytes.slice().buffer;
}

function offsetOf(bytes: Uint8Array, bytesPerElement: number): number {
  return bytes.byteOffset % bytesPerElement === 0 && bytes.buffer instanceof ArrayBuffer ? bytes.byteOffset : 0;
}

/** Tensor bytes → f32 values (exact for F32, F16, BF16 and integers up to 2^24; F64/I64 are rounded). */
export function tensorBytesToF32(dtype: SafetensorsDtype, bytes: Uint8Array): Float32Array {
  const size = SAFETENSORS_DTYPE_BYTES[dtype];
  if (bytes.byteLength % size !== 0)
    throw new Error(`${dtype} data of ${bytes.byteLength} bytes is not a whole number of elements`);
  const n = bytes.byteLength / size;
  const buf = aligned(bytes, size);
  const off = offsetOf(bytes, size);
  switch (dtype) {
    case 'F32':
      return new Float32Array(buf.slice(off, off + bytes.byteLength));
    case 'F16':
      return f16ArrayToF32(new Uint16Array(buf, off, n));
    case 'BF16':
      return bf16ArrayToF32(new Uint16Array(buf, off, n));
    case 'F64':
      return Float32Array.from(new Float64Array(buf, off, n));
    case 'I64':
      return Float32Array.from(new BigInt64Array(buf, off, n), (v) => Number(v));
    case 'U64':
      return Float32Array.from(new BigUint64Array(buf, off, n), (v) => Number(v));
    case 'I32':
      return Float32Array.from(new Int32Array(buf, off, n));
    case 'U32':
      return Float32Array.from(new Uint32Array(buf, off, n));
    case 'I16':
      return Float32Array.from(new Int16Array(buf, off, n));
    case 'U16':
      return Float32Array.from(new Uint16Array(buf, off, n));
    case 'I8':
      return Float32Array.from(new Int8Array(buf, off, n));
    case 'U8':
    case 'BOOL':
      return Float32Array.from(bytes);
    case 'F8_E4M3':
    case 'F8_E5M2':
      throw new Error(`${dtype} tensors cannot be converted to f32 here`);
  }
}
