/**
 * safetensors writer (browser-safe): `u64 LE N`, N bytes of JSON padded with spaces to a multiple of 8, then the
 * tensors back to back in the order given. `__metadata__` (strings only) comes first in the header.
 * Used by the PEFT / mlx-lm adapter exports and the test fixtures.
 */
import { elementCount, SAFETENSORS_DTYPE_BYTES, type SafetensorsDtype } from './safetensors.ts';

export interface SafetensorsTensorInput {
  name: string;
  dtype: SafetensorsDtype;
  /** Outermost first (torch order). */
  shape: readonly number[];
  /** Little-endian element bytes: a Uint8Array, or any typed array of the right element size (Float32Array for F32, Uint16Array of bits for F16/BF16, ...). */
  data: ArrayBufferView;
}

export interface SafetensorsLayoutEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Offsets relative to the data buffer. */
  begin: number;
  end: number;
}

export interface SafetensorsLayout {
  /** The 8-byte length prefix followed by the padded JSON header. */
  header: Uint8Array<ArrayBuffer>;
  entries: SafetensorsLayoutEntry[];
  /** Total file size: header.byteLength + data bytes. */
  fileSize: number;
}

/**
 * Plans a file: header bytes and tensor offsets, without touching tensor data (so a large export can stream the
 * tensors after the header).
 */
export function planSafetensors(
  tensors: readonly Omit<SafetensorsTensorInput, 'data'>[],
  metadata?: Record<string, string>,
): SafetensorsLayout {
  const header: Record<string, unknown> = {};
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`safetensors metadata "${k}" must be a string, got ${typeof v}`);
    }
    header.__metadata__ = { ...metadata };
  }
  const entries: SafetensorsLayoutEntry[] = [];
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__') throw new Error('a tensor cannot be named "__metadata__"');
    if (t.name in header) throw new Error(`duplicate tensor name "${t.name}"`);
    if (!(t.dtype in SAFETENSORS_DTYPE_BYTES)) throw new Error(`tensor "${t.name}": unknown dtype ${t.dtype}`);
    for (const d of t.shape)
      if (!Number.isSafeInteger(d) || d < 0)
        throw new Error(`tensor "${t.name}": invalid shape [${t.shape.join(', ')}]`);
    const bytes = elementCount(t.shape) * SAFETENSORS_DTYPE_BYTES[t.dtype];
    const entry = { name: t.name, dtype: t.dtype, shape: [...t.shape], begin: offset, end: offset + bytes };
    entries.push(entry);
    header[t.name] = { dtype: t.dtype, shape: entry.shape, data_offsets: [entry.begin, entry.end] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + padded);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength);
  return { header: out, entries, fileSize: out.byteLength + offset };
}

function viewBytes(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The whole file in memory. Throws when a tensor's data length does not match its dtype and shape. */
export function writeSafetensors(
  tensors: readonly SafetensorsTensorInput[],
  metadata?: Record<string, string>,
): Uint8Array<ArrayBuffer> {
  const layout = planSafetensors(tensors, metadata);
  const out = new Uint8Array(layout.fileSize);
  out.set(layout.header, 0);
  const base = layout.header.byteLength;
  tensors.forEach((t, i) => {
    const e = layout.entries[i]!;
    const bytes = viewBytes(t.data);
    if (bytes.byteLength !== e.end - e.begin) {
      throw new Error(
        `tensor "${t.name}" (${t.dtype} [${t.shape.join(', ')}]) needs ${e.end - e.begin} bytes, got ${bytes.byteLength}`,
      );
    }
    out.set(bytes, base + e.begin);
  });
  return out;
}
