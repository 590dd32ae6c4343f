/**
 * GGUF target: the tiny llama model as one .gguf (F32 or Q8_0): header bytes, counts claiming 1e9 entries, metadata
 * numbers (block_count, head counts, lengths), deeply nested metadata arrays, tensor dims, types and offsets
 * (overlapping, outside the file), and NaN/Inf in tensor data; read by `cli logits --model FILE.gguf`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Rng } from '../../harness/rng.ts';
import { concat, INTERESTING_INTS, mutateBytes, pick } from '../mutate.ts';
import type { Corpus, FuzzCase, FuzzTarget } from '../target.ts';
import { logitsCase } from './common.ts';

interface Layout {
  bytes: Uint8Array;
  /** Position of the kv count (u64). */
  kvCountAt: number;
  /** First metadata entry's position (where a new entry can be inserted). */
  firstKvAt: number;
  kvs: { key: string; type: number; valueAt: number }[];
  tensors: { name: string; dimsAt: number; nDims: number; typeAt: number; offsetAt: number }[];
}

const SCALAR: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** Walks a valid GGUF and records where its fields are. */
function layoutOf(bytes: Uint8Array): Layout {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 24;
  const str = () => {
    const n = Number(v.getBigUint64(p, true));
    const s = new TextDecoder().decode(bytes.subarray(p + 8, p + 8 + n));
    p += 8 + n;
    return s;
  };
  const skipValue = (type: number): void => {
    if (type === 8) str();
    else if (type === 9) {
      const item = v.getUint32(p, true);
      const n = Number(v.getBigUint64(p + 4, true));
      p += 12;
      for (let i = 0; i < n; i++) skipValue(item);
    } else p += SCALAR[type]!;
  };
  const tensorCount = Number(v.getBigUint64(8, true));
  const kvCount = Number(v.getBigUint64(16, true));
  const kvs: Layout['kvs'] = [];
  for (let i = 0; i < kvCount; i++) {
    const key = str();
    const type = v.getUint32(p, true);
    p += 4;
    kvs.push({ key, type, valueAt: p });
    skipValue(type);
  }
  const tensors: Layout['tensors'] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = str();
    const nDims = v.getUint32(p, true);
    const dimsAt = p + 4;
    p = dimsAt + 8 * nDims;
    tensors.push({ name, dimsAt, nDims, typeAt: p, offsetAt: p + 4 });
    p += 12;
  }
  return { bytes, kvCountAt: 16, firstKvAt: 24, kvs, tensors };
}

function u64(n: number | bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}
function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}
function ggufString(s: string): Uint8Array {
  const t = new TextEncoder().encode(s);
  return concat(u64(t.byteLength), t);
}

/** A metadata entry holding an array nested `depth` deep, inserted first (the kv count incremented). */
function nested(l: Layout, depth: number): Uint8Array {
  const head = concat(ggufString('fuzz.nested'), u32(9));
  const level = concat(u32(9), u64(1));
  const inner = concat(u32(0), u64(0));
  const entry = new Uint8Array(head.byteLength + depth * level.byteLength + inner.byteLength);
  entry.set(head, 0);
  for (let d = 0; d < depth; d++) entry.set(level, head.byteLength + d * level.byteLength);
  entry.set(inner, head.byteLength + depth * level.byteLength);
  const out = concat(l.bytes.subarray(0, l.firstKvAt), entry, l.bytes.subarray(l.firstKvAt));
  const v = new DataView(out.buffer);
  v.setBigUint64(l.kvCountAt, v.getBigUint64(l.kvCountAt, true) + 1n, true);
  return out;
}

function structured(rng: Rng, l: Layout): { bytes: Uint8Array; note: string } {
  const out = l.bytes.slice();
  const v = new DataView(out.buffer);
  const numeric = l.kvs.filter((k) => k.type in SCALAR && k.type !== 7);
  switch (rng.int(0, 8)) {
    case 0: {
      const at = pick(rng, [8, 16]);
      const n = pick(rng, [1e9, 2 ** 32, 2 ** 53, 2 ** 63]);
      v.setBigUint64(at, BigInt(n), true);
      return { bytes: out, note: `${at === 8 ? 'tensor' : 'metadata'} count ${n}` };
    }
    case 1: {
      const depth = pick(rng, [64, 10_000, 1_000_000]);
      return { bytes: nested(l, depth), note: `metadata array nested ${depth} deep` };
    }
    case 2: {
      const k = pick(rng, numeric);
      const n = pick(rng, [0, 1, 2, 3, 1e9, 2 ** 31, 2 ** 32 - 1, 7, 1000]);
      const size = SCALAR[k.type]!;
      if (size === 8) v.setBigUint64(k.valueAt, BigInt(n), true);
      else if (k.type === 6) v.setFloat32(k.valueAt, pick(rng, [Number.NaN, Infinity, 0, -1, 1e30, n]), true);
      else if (size === 4) v.setUint32(k.valueAt, n >>> 0, true);
      else if (size === 2) v.setUint16(k.valueAt, n & 0xffff, true);
      else v.setUint8(k.valueAt, n & 0xff);
      return { bytes: out, note: `metadata ${k.key} = ${n}` };
    }
    case 3: {
      const a = pick(rng, l.tensors);
      const b = pick(rng, l.tensors);
      v.setBigUint64(a.offsetAt, v.getBigUint64(b.offsetAt, true), true);
      return { bytes: out, note: `tensor ${a.name} offset = ${b.name}'s (overlap)` };
    }
    case 4: {
      const t = pick(rng, l.tensors);
      const n = pick(rng, [2 ** 32, 2 ** 40, 2 ** 62, out.byteLength, out.byteLength - 32]);
      v.setBigUint64(t.offsetAt, BigInt(n), true);
      return { bytes: out, note: `tensor ${t.name} offset ${n}` };
    }
    case 5: {
      const t = pick(rng, l.tensors);
      const d = rng.int(0, t.nDims);
      const n = pick(rng, [0, 1, 2, 3, 31, 33, 1e9, 2 ** 32, 2 ** 53]);
      v.setBigUint64(t.dimsAt + 8 * d, BigInt(n), true);
      return { bytes: out, note: `tensor ${t.name} dim ${d} = ${n}` };
    }
    case 6: {
      const t = pick(rng, l.tensors);
      const n = pick(rng, [0, 1, 2, 8, 12, 14, 16, 30, 39, 1000]);
      v.setUint32(t.typeAt, n, true);
      return { bytes: out, note: `tensor ${t.name} type ${n}` };
    }
    default: {
      const t = pick(rng, INTERESTING_INTS);
      v.setUint32(4, t >>> 0, true);
      return { bytes: out, note: `version ${t}` };
    }
  }
}

/** Writes NaN / Inf over a few f32 words of the tensor data (past the header). */
function poison(rng: Rng, l: Layout): { bytes: Uint8Array; note: string } {
  const out = l.bytes.slice();
  const v = new DataView(out.buffer);
  const last = l.tensors.at(-1)!;
  const dataStart = Math.ceil((last.offsetAt + 8) / 32) * 32;
  const value = pick(rng, [Number.NaN, Infinity, -Infinity, 1e30]);
  const n = 1 + rng.int(0, 3);
  for (let k = 0; k < n; k++) v.setFloat32(dataStart + 4 * rng.int(0, (out.byteLength - dataStart) / 4), value, true);
  return { bytes: out, note: `${n} × ${value} written into tensor data` };
}

export const ggufTarget: FuzzTarget<Layout[]> = {
  name: 'gguf',
  description:
    'tiny llama .gguf (F32, Q8_0): header, counts, metadata, nested arrays, tensor infos, values; cli logits',
  async prepare(corpus: Corpus) {
    return Promise.all(corpus.gguf.map(async (f) => layoutOf(new Uint8Array(await readFile(f)))));
  },
  async seedCase(layouts, dir) {
    const file = join(dir, 'model.gguf');
    await writeFile(file, layouts[0]!.bytes);
    return logitsCase(dir, file, [basename(file)], 'seed');
  },
  async makeCase(layouts, rng, dir): Promise<FuzzCase> {
    const l = pick(rng, layouts);
    const r = rng.int(0, 10);
    const m =
      r < 3
        ? mutateBytes(rng, l.bytes, [0, l.tensors.at(-1)!.offsetAt + 8])
        : r < 9
          ? structured(rng, l)
          : poison(rng, l);
    const file = join(dir, 'model.gguf');
    await writeFile(file, m.bytes);
    return logitsCase(dir, file, [basename(file)], m.note);
  },
};
