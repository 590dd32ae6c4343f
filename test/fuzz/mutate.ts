/**
 * Mutators shared by the fuzz targets: raw bytes (bit flips, interesting integers, insertions, deletions,
 * truncation, repeats), JSON values (interesting numbers, wrong types, deleted keys, huge arrays, deep nesting, long
 * or control-character strings) and text (splicing fragments from a dictionary). Every choice comes from `rng`.
 */
import type { Rng } from '../harness/rng.ts';

/** Integers at the edges of the types that file headers store (u8 … u64), and counts that exhaust memory. */
export const INTERESTING_INTS = [
  0,
  1,
  2,
  3,
  7,
  8,
  16,
  31,
  32,
  63,
  64,
  127,
  128,
  255,
  256,
  1023,
  1024,
  4095,
  4096,
  32767,
  32768,
  65535,
  65536,
  2 ** 20,
  2 ** 24,
  1e6,
  1e9,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
];
export const INTERESTING_NUMBERS = [
  ...INTERESTING_INTS,
  -1,
  -(2 ** 31),
  0.5,
  1.5,
  -0.0,
  1e-45,
  1e-300,
  1e300,
  1e308,
  -1e308,
  3.4e38,
  65504,
  2 ** 64,
];

export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(0, items.length)]!;
}

function writeU64(bytes: Uint8Array, offset: number, value: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (offset + 8 <= bytes.byteLength) view.setBigUint64(offset, BigInt(Math.min(value, 2 ** 64 - 1)), true);
}

function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (offset + 4 <= bytes.byteLength) view.setUint32(offset, value >>> 0, true);
}

/**
 * One to a few byte-level edits of a copy of `input`. `focus` limits where most edits land (e.g. a file's header);
 * edits outside it stay possible so tensor data is mutated too.
 */
export function mutateBytes(
  rng: Rng,
  input: Uint8Array,
  focus?: [number, number],
): { bytes: Uint8Array; note: string } {
  let bytes: Uint8Array = input.slice();
  const notes: string[] = [];
  const edits = 1 + rng.int(0, 4);
  for (let e = 0; e < edits; e++) {
    const [lo, hi] = focus && rng.next() < 0.8 ? focus : [0, bytes.byteLength];
    const at = () => lo + rng.int(0, Math.max(1, Math.min(hi, bytes.byteLength) - lo));
    switch (rng.int(0, 8)) {
      case 0: {
        const o = at();
        if (o < bytes.byteLength) bytes[o]! ^= 1 << rng.int(0, 8);
        notes.push(`flip bit at ${o}`);
        break;
      }
      case 1: {
        const o = at();
        if (o < bytes.byteLength) bytes[o] = pick(rng, [0, 0xff, 0x7f, 0x80, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d]);
        notes.push(`byte at ${o}`);
        break;
      }
      case 2: {
        const o = at() & ~7;
        const v = pick(rng, INTERESTING_INTS);
        writeU64(bytes, o, v);
        notes.push(`u64 ${v} at ${o}`);
        break;
      }
      case 3: {
        const o = at() & ~3;
        const v = pick(rng, INTERESTING_INTS);
        writeU32(bytes, o, v);
        notes.push(`u32 ${v} at ${o}`);
        break;
      }
      case 4: {
        const o = at();
        const n = 1 + rng.int(0, 64);
        bytes = concat(bytes.subarray(0, o), bytes.subarray(Math.min(bytes.byteLength, o + n)));
        notes.push(`delete ${n} at ${o}`);
        break;
      }
      case 5: {
        const o = at();
        const n = 1 + rng.int(0, 64);
        const ins = new Uint8Array(n).map(() => rng.int(0, 256));
        bytes = concat(bytes.subarray(0, o), ins, bytes.subarray(o));
        notes.push(`insert ${n} at ${o}`);
        break;
      }
      case 6: {
        const o = at();
        bytes = bytes.slice(0, o);
        notes.push(`truncate at ${o}`);
        break;
      }
      default: {
        const o = at();
        const n = 1 + rng.int(0, 256);
        const piece = bytes.slice(o, o + n);
        bytes = concat(bytes.subarray(0, o), piece, piece, bytes.subarray(o));
        notes.push(`repeat ${piece.byteLength} at ${o}`);
      }
    }
  }
  return { bytes, note: notes.join(', ') };
}

export function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path into a JSON value (arrays sampled so huge ones stay cheap). */
function paths(value: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (out.length > 20000) return out;
  if (Array.isArray(value)) {
    const step = Math.max(1, Math.floor(value.length / 50));
    for (let i = 0; i < value.length; i += step) paths(value[i]!, [...prefix, i], out);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  }
  return out;
}

function get(root: Json, path: (string | number)[]): Json {
  let v: Json = root;
  for (const k of path) v = (v as Record<string | number, Json>)[k]!;
  return v;
}

function set(root: Json, path: (string | number)[], value: Json | undefined): Json {
  if (path.length === 0) return value === undefined ? null : value;
  const parent = get(root, path.slice(0, -1)) as Record<string | number, Json> | Json[];
  const key = path.at(-1)!;
  if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete (parent as Record<string, Json>)[key];
  } else (parent as Record<string | number, Json>)[key] = value;
  return root;
}

const CONTROL = '\u0000\u0007\u0008\u001b[31m\r\n\u009b\u202e';

/** Deep nesting is spliced into the text after JSON.stringify (which would overflow its stack on it). */
const NESTED = new Map<string, string>();
function nestMarker(value: Json, depth: number): string {
  const marker = `__fuzz_nested_${NESTED.size}__`;
  NESTED.set(marker, `${'['.repeat(depth)}${JSON.stringify(value)}${']'.repeat(depth)}`);
  return marker;
}
function unnest(text: string): string {
  let out = text;
  for (const [marker, nested] of NESTED) out = out.split(JSON.stringify(marker)).join(nested);
  NESTED.clear();
  return out;
}

/** A replacement for a JSON value: interesting numbers, other types, huge or deep structures. */
function replacement(rng: Rng, old: Json): { value: Json | undefined; note: string } {
  const r = rng.int(0, 14);
  if (r < 4 && typeof old === 'number') {
    const v = pick(rng, INTERESTING_NUMBERS);
    return { value: v, note: `number ${v}` };
  }
  switch (r) {
    case 0:
    case 1:
    case 2:
    case 3: {
      const v = pick(rng, INTERESTING_NUMBERS);
      return { value: v, note: `number ${v}` };
    }
    case 4:
      return { value: undefined, note: 'deleted' };
    case 5:
      return { value: null, note: 'null' };
    case 6:
      return { value: pick(rng, [true, false, '', 'x', [], {}]), note: 'other type' };
    case 7:
      return { value: `${typeof old === 'string' ? old : 'x'}${CONTROL}`, note: 'control characters' };
    case 8:
      return { value: 'a'.repeat(pick(rng, [1000, 100000, 2000000])), note: 'long string' };
    case 9: {
      const depth = pick(rng, [100, 5000, 100000]);
      return { value: nestMarker(old, depth), note: `nested ${depth} deep` };
    }
    case 10: {
      const n = pick(rng, [1000, 100000]);
      return { value: Array.from({ length: n }, () => old), note: `array of ${n} copies` };
    }
    case 11:
      return { value: Array.isArray(old) ? [...old, ...old] : [old], note: 'doubled / wrapped' };
    case 12:
      return {
        value: typeof old === 'string' ? old.slice(0, rng.int(0, old.length + 1)) : String(old),
        note: 'string cut / stringified',
      };
    default:
      return { value: { '': old }, note: 'wrapped in object' };
  }
}

/** 1–3 edits of a JSON document (parsed with JSON.parse; a document that is not JSON gets byte edits instead). */
export function mutateJson(rng: Rng, text: string): { text: string; note: string } {
  // Edits compound (a huge string copied into a huge array): past V8's longest string the result cannot be written,
  // so draw other edits (the generator moves on, so the case stays reproducible from its seed).
  for (let attempt = 0; ; attempt++) {
    try {
      return mutateJsonOnce(rng, text);
    } catch (e) {
      NESTED.clear();
      if (!(e instanceof RangeError) || attempt >= 20) throw e;
    }
  }
}

function mutateJsonOnce(rng: Rng, text: string): { text: string; note: string } {
  let root: Json;
  try {
    root = JSON.parse(text) as Json;
  } catch {
    const m = mutateBytes(rng, new TextEncoder().encode(text));
    return { text: new TextDecoder().decode(m.bytes), note: m.note };
  }
  const notes: string[] = [];
  const edits = 1 + rng.int(0, 3);
  for (let e = 0; e < edits; e++) {
    const all = paths(root);
    const path = pick(rng, all);
    const { value, note } = replacement(rng, get(root, path));
    root = set(root, path, value);
    notes.push(`${path.join('.') || '(root)'}: ${note}`);
  }
  const out = unnest(JSON.stringify(root));
  if (rng.next() < 0.1) {
    const bytes = mutateBytes(rng, new TextEncoder().encode(out));
    return { text: new TextDecoder().decode(bytes.bytes), note: `${notes.join('; ')}; then ${bytes.note}` };
  }
  return { text: out, note: notes.join('; ') };
}

/** Text edits: splice one of `fragments` in, delete or repeat a span, or byte edits. */
export function mutateText(rng: Rng, text: string, fragments: readonly string[]): { text: string; note: string } {
  const at = rng.int(0, text.length + 1);
  switch (rng.int(0, 5)) {
    case 0:
    case 1: {
      const f = pick(rng, fragments);
      return { text: text.slice(0, at) + f + text.slice(at), note: `inserted ${JSON.stringify(f.slice(0, 60))}` };
    }
    case 2: {
      const n = rng.int(1, 40);
      return { text: text.slice(0, at) + text.slice(at + n), note: `deleted ${n} chars at ${at}` };
    }
    case 3: {
      const f = pick(rng, fragments);
      return { text: f, note: `replaced by ${JSON.stringify(f.slice(0, 60))}` };
    }
    default: {
      const m = mutateBytes(rng, new TextEncoder().encode(text));
      return { text: new TextDecoder().decode(m.bytes), note: m.note };
    }
  }
}
