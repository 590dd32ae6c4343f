/**
 * GGUF v3 writer (browser-safe): metadata of every value type and tensors already encoded as ggml blocks
 * (see gguf-quant.ts `encodeGgufTensor`). Tensor data is aligned to `general.alignment` (default 32) and padded
 * with zeros. Used by the test fixtures and the GGUF LoRA export.
 */
import {
  GGML_TYPES,
  type GgmlType,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VALUE_TYPE,
  GGUF_VERSION,
  type GgufArray,
  type GgufArrayItem,
  type GgufValue,
  type GgufValueType,
  ggmlTensorBytes,
} from './gguf-types.ts';

export interface GgufTensorInput {
  name: string;
  type: GgmlType;
  /** torch order, outermost first (written innermost first, as ggml wants). */
  shape: readonly number[];
  /** Encoded tensor bytes (ggml blocks for quantized types, little-endian elements otherwise). */
  data: Uint8Array;
}

export interface GgufWriteInput {
  metadata: Iterable<[string, GgufValue]>;
  tensors: readonly GgufTensorInput[];
}

/** Typed metadata value constructors: `gguf.u32(3)`, `gguf.array('string', ['a'])`. */
export const gguf = {
  u8: (value: number): GgufValue => ({ type: 'u8', value }),
  i8: (value: number): GgufValue => ({ type: 'i8', value }),
  u16: (value: number): GgufValue => ({ type: 'u16', value }),
  i16: (value: number): GgufValue => ({ type: 'i16', value }),
  u32: (value: number): GgufValue => ({ type: 'u32', value }),
  i32: (value: number): GgufValue => ({ type: 'i32', value }),
  f32: (value: number): GgufValue => ({ type: 'f32', value }),
  f64: (value: number): GgufValue => ({ type: 'f64', value }),
  u64: (value: bigint | number): GgufValue => ({ type: 'u64', value: BigInt(value) }),
  i64: (value: bigint | number): GgufValue => ({ type: 'i64', value: BigInt(value) }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  string: (value: string): GgufValue => ({ type: 'string', value }),
  array: (itemType: GgufValueType, items: GgufArrayItem[]): GgufArray => ({ type: 'array', itemType, items }),
};

/** A growable little-endian byte buffer. */
class ByteWriter {
  private buf = new Uint8Array(1 << 12);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private static readonly encoder = new TextEncoder();

  private reserve(n: number): number {
    if (this.length + n > this.buf.byteLength) {
      let cap = this.buf.byteLength * 2;
      while (cap < this.length + n) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  /** Offset of the last `put`. */
  at = 0;
  /** Reserves n bytes and returns the (possibly reallocated) view; write at `this.at`. */
  private put(n: number): DataView {
    this.at = this.reserve(n);
    return this.view;
  }
  u8(v: number): void {
    this.put(1).setUint8(this.at, v);
  }
  u32(v: number): void {
    this.put(4).setUint32(this.at, v, true);
  }
  u64(v: bigint | number): void {
    this.put(8).setBigUint64(this.at, BigInt(v), true);
  }
  scalar(type: Exclude<GgufValueType, 'string' | 'array'>, v: number | bigint | boolean): void {
    const check = (ok: boolean): void => {
      if (!ok) throw new Error(`value ${String(v)} does not fit GGUF type ${type}`);
    };
    const intIn = (lo: number, hi: number): boolean =>
      typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
    switch (type) {
      case 'u8':
        check(intIn(0, 0xff));
        return this.put(1).setUint8(this.at, v as number);
      case 'i8':
        check(intIn(-0x80, 0x7f));
        return this.put(1).setInt8(this.at, v as number);
      case 'u16':
        check(intIn(0, 0xffff));
        return this.put(2).setUint16(this.at, v as number, true);
      case 'i16':
        check(intIn(-0x8000, 0x7fff));
        return this.put(2).setInt16(this.at, v as number, true);
      case 'u32':
        check(intIn(0, 0xffffffff));
        return this.put(4).setUint32(this.at, v as number, true);
      case 'i32':
        check(intIn(-0x80000000, 0x7fffffff));
        return this.put(4).setInt32(this.at, v as number, true);
      case 'f32':
        check(typeof v === 'number');
        return this.put(4).setFloat32(this.at, v as number, true);
      case 'f64':
        check(typeof v === 'number');
        return this.put(8).setFloat64(this.at, v as number, true);
      case 'bool':
        check(typeof v === 'boolean');
        return this.put(1).setUint8(this.at, v ? 1 : 0);
      case 'u64':
        check(typeof v === 'bigint' && v >= 0n && v < 1n << 64n);
        return this.put(8).setBigUint64(this.at, v as bigint, true);
      case 'i64':
        check(typeof v === 'bigint' && v >= -(1n << 63n) && v < 1n << 63n);
        return this.put(8).setBigInt64(this.at, v as bigint, true);
    }
  }
  string(s: string): void {
    const bytes = ByteWriter.encoder.encode(s);
    this.u64(bytes.byteLength);
    const at = this.reserve(bytes.byteLength); // may reallocate `buf`: reserve first
    this.buf.set(bytes, at);
  }
  item(type: GgufValueType, item: GgufArrayItem): void {
    if (type === 'string') {
      if (typeof item !== 'string') throw new Error(`array item ${String(item)} is not a string`);
      this.string(item);
    } else if (type === 'array') {
      if (typeof item !== 'object') throw new Error(`array item ${String(item)} is not an array`);
      this.array(item);
    } else {
      if (typeof item === 'object' || typeof item === 'string')
        throw new Error(`array item ${String(item)} is not a ${type}`);
      this.scalar(type, item);
    }
  }
  array(a: GgufArray): void {
    this.u32(GGUF_VALUE_TYPE[a.itemType]);
    this.u64(a.items.length);
    for (const item of a.items) this.item(a.itemType, item);
  }
  value(v: GgufValue): void {
    this.u32(GGUF_VALUE_TYPE[v.type]);
    if (v.type === 'array') this.array(v);
    else if (v.type === 'string') this.string(v.value);
    else this.scalar(v.type, v.value);
  }
  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    this.reserve(pad);
  }
  bytes(): Uint8Array<ArrayBuffer> {
    return this.buf.slice(0, this.length);
  }
}

/** The whole GGUF file in memory. */
export function writeGguf(input: GgufWriteInput): Uint8Array<ArrayBuffer> {
  const metadata = [...input.metadata];
  const keys = new Set<string>();
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  for (const [key, value] of metadata) {
    if (keys.has(key)) throw new Error(`GGUF metadata key "${key}" given twice`);
    keys.add(key);
    if (key === 'general.alignment') {
      if (value.type !== 'u32' || value.value <= 0 || value.value % 8 !== 0)
        throw new Error('general.alignment must be a u32 multiple of 8');
      alignment = value.value;
    }
  }
  const names = new Set<string>();
  const offsets: number[] = [];
  let offset = 0;
  for (const t of input.tensors) {
    if (names.has(t.name)) throw new Error(`GGUF tensor "${t.name}" given twice`);
    names.add(t.name);
    if (!(t.type in GGML_TYPES)) throw new Error(`tensor "${t.name}": unknown ggml type ${t.type}`);
    if (t.shape.length < 1 || t.shape.length > 4)
      throw new Error(`tensor "${t.name}": ${t.shape.length} dimensions (1 to 4 allowed)`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    const bytes = ggmlTensorBytes(t.type, t.shape[t.shape.length - 1]!, count);
    if (t.data.byteLength !== bytes)
      throw new Error(
        `tensor "${t.name}" (${t.type} [${t.shape.join(', ')}]) needs ${bytes} bytes, got ${t.data.byteLength}`,
      );
    offsets.push(offset);
    offset += Math.ceil(bytes / alignment) * alignment;
  }

  const w = new ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(GGUF_VERSION);
  w.u64(input.tensors.length);
  w.u64(metadata.length);
  for (const [key, value] of metadata) {
    w.string(key);
    w.value(value);
  }
  input.tensors.forEach((t, i) => {
    w.string(t.name);
    w.u32(t.shape.length);
    for (let d = t.shape.length - 1; d >= 0; d--) w.u64(t.shape[d]!);
    w.u32(GGML_TYPES[t.type].id);
    w.u64(offsets[i]!);
  });
  w.padTo(alignment);
  const header = w.bytes();
  const out = new Uint8Array(header.byteLength + offset);
  out.set(header, 0);
  input.tensors.forEach((t, i) => out.set(t.data, header.byteLength + offsets[i]!));
  return out;
}
