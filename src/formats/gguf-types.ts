/** GGUF v3 constants shared by the reader, the writer and the (de)quantizers: value types and ggml tensor types. */

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Metadata value types and their on-disk ids. */
export const GGUF_VALUE_TYPE = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;
export type GgufValueType = keyof typeof GGUF_VALUE_TYPE;
export type GgufNumberType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64';
export type GgufBigintType = 'u64' | 'i64';

export const GGUF_VALUE_TYPE_BY_ID = new Map<number, GgufValueType>(
  Object.entries(GGUF_VALUE_TYPE).map(([k, v]) => [v, k as GgufValueType]),
);

/** Byte size of fixed-size scalar value types. */
export const GGUF_SCALAR_BYTES: Record<Exclude<GgufValueType, 'string' | 'array'>, number> = {
  u8: 1,
  i8: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  f32: 4,
  bool: 1,
  u64: 8,
  i64: 8,
  f64: 8,
};

/** An array item: a scalar, or a nested array. */
export type GgufArrayItem = number | bigint | boolean | string | GgufArray;
export interface GgufArray {
  type: 'array';
  itemType: GgufValueType;
  items: GgufArrayItem[];
}

/** A typed metadata value (the type is kept so a file can be written back identically). */
export type GgufValue =
  | { type: GgufNumberType; value: number }
  | { type: GgufBigintType; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | GgufArray;

/** ggml tensor types whose block layout is known: id, values per block, bytes per block. */
export const GGML_TYPES = {
  F32: { id: 0, blockSize: 1, blockBytes: 4 },
  F16: { id: 1, blockSize: 1, blockBytes: 2 },
  Q4_0: { id: 2, blockSize: 32, blockBytes: 18 },
  Q4_1: { id: 3, blockSize: 32, blockBytes: 20 },
  Q5_0: { id: 6, blockSize: 32, blockBytes: 22 },
  Q5_1: { id: 7, blockSize: 32, blockBytes: 24 },
  Q8_0: { id: 8, blockSize: 32, blockBytes: 34 },
  Q8_1: { id: 9, blockSize: 32, blockBytes: 36 },
  Q2_K: { id: 10, blockSize: 256, blockBytes: 84 },
  Q3_K: { id: 11, blockSize: 256, blockBytes: 110 },
  Q4_K: { id: 12, blockSize: 256, blockBytes: 144 },
  Q5_K: { id: 13, blockSize: 256, blockBytes: 176 },
  Q6_K: { id: 14, blockSize: 256, blockBytes: 210 },
  Q8_K: { id: 15, blockSize: 256, blockBytes: 292 },
  I8: { id: 24, blockSize: 1, blockBytes: 1 },
  I16: { id: 25, blockSize: 1, blockBytes: 2 },
  I32: { id: 26, blockSize: 1, blockBytes: 4 },
  I64: { id: 27, blockSize: 1, blockBytes: 8 },
  F64: { id: 28, blockSize: 1, blockBytes: 8 },
  BF16: { id: 30, blockSize: 1, blockBytes: 2 },
} as const;
export type GgmlType = keyof typeof GGML_TYPES;

export const GGML_TYPE_BY_ID = new Map<number, GgmlType>(
  Object.entries(GGML_TYPES).map(([k, v]) => [v.id, k as GgmlType]),
);

/** Bytes of `count` values of `type` laid out as rows of `rowLength` (the innermost dimension). */
export function ggmlTensorBytes(type: GgmlType, rowLength: number, count: number): number {
  const { blockSize, blockBytes } = GGML_TYPES[type];
  if (rowLength % blockSize !== 0)
    throw new Error(`${type} needs rows that are a multiple of ${blockSize} values, got a row of ${rowLength}`);
  return (count / blockSize) * blockBytes;
}

/** Bytes per row of `rowLength` values. */
export function ggmlRowBytes(type: GgmlType, rowLength: number): number {
  return ggmlTensorBytes(type, rowLength, rowLength);
}
