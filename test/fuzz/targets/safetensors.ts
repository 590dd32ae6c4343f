/**
 * safetensors and sharded-index targets: a tiny llama model folder whose model.safetensors (raw bytes, the JSON
 * header, non-finite or huge values written into tensors, a 2 GiB sparse tensor) or whose sharded
 * model.safetensors.index.json and shards are mutated; read by `cli logits`.
 */
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Rng } from '../../harness/rng.ts';
import { mutateBytes, mutateJson, pick } from '../mutate.ts';
import type { Corpus, FuzzCase, FuzzTarget } from '../target.ts';
import { copySeed, joinSafetensors, logitsCase, splitSafetensors } from './common.ts';

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Writes `value` (an f32 bit pattern or a number) into random elements of one F32 tensor. */
function poisonValues(rng: Rng, bytes: Uint8Array): { bytes: Uint8Array; note: string } | null {
  const parts = splitSafetensors(bytes);
  if (!parts) return null;
  const header = JSON.parse(parts.header) as Record<string, HeaderEntry>;
  const names = Object.keys(header).filter((k) => k !== '__metadata__' && header[k]!.dtype === 'F32');
  const name = pick(rng, names);
  const [begin, end] = header[name]!.data_offsets;
  const out = bytes.slice();
  const view = new DataView(out.buffer, 8 + parts.header.length);
  const value = pick(rng, [Number.NaN, Infinity, -Infinity, 1e30, -3e38, 1e20]);
  const n = 1 + rng.int(0, 3);
  for (let k = 0; k < n; k++) view.setFloat32(begin + 4 * rng.int(0, (end - begin) / 4), value, true);
  return { bytes: out, note: `${n} × ${value} in ${name}` };
}

/** A header whose tensor claims 2 GiB, with a sparse file of that size behind it (nothing is really written). */
async function sparseHuge(rng: Rng, path: string, bytes: Uint8Array): Promise<string> {
  const parts = splitSafetensors(bytes)!;
  const header = JSON.parse(parts.header) as Record<string, HeaderEntry>;
  const name = pick(
    rng,
    Object.keys(header).filter((k) => k !== '__metadata__'),
  );
  const elements = 2 ** 29; // 2 GiB of F32
  const cols = header[name]!.shape.at(-1) ?? 1;
  const shape = header[name]!.shape.length === 2 ? [Math.ceil(elements / cols), cols] : [elements];
  const size = shape.reduce((a, b) => a * b, 1) * 4;
  const entries = Object.entries(header).filter(([k]) => k !== '__metadata__');
  let offset = 0;
  const rebuilt: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  for (const [k, v] of entries) {
    const n = k === name ? size : v.data_offsets[1] - v.data_offsets[0];
    rebuilt[k] = {
      dtype: k === name ? 'F32' : v.dtype,
      shape: k === name ? shape : v.shape,
      data_offsets: [offset, offset + n],
    };
    offset += n;
  }
  const head = joinSafetensors(JSON.stringify(rebuilt), new Uint8Array(0));
  await writeFile(path, head);
  const handle = await open(path, 'r+');
  await handle.truncate(head.byteLength + offset);
  await handle.close();
  return `${name} claims [${shape.join(', ')}] F32 (2 GiB, sparse file)`;
}

export const safetensorsTarget: FuzzTarget<Corpus> = {
  name: 'safetensors',
  description:
    'model.safetensors of a tiny llama folder: bytes, JSON header, NaN/Inf/huge values, a 2 GiB tensor; cli logits',
  prepare: async (corpus) => corpus,
  async seedCase(corpus, dir) {
    const model = await copySeed(corpus.model, dir, 'model', (f) => !f.endsWith('.gguf'));
    return logitsCase(dir, model, ['model/model.safetensors'], 'seed');
  },
  async makeCase(corpus, rng, dir): Promise<FuzzCase> {
    const model = await copySeed(corpus.model, dir, 'model', (f) => !f.endsWith('.gguf'));
    const path = join(model, 'model.safetensors');
    const bytes = new Uint8Array(await readFile(path));
    const parts = splitSafetensors(bytes)!;
    const r = rng.int(0, 10);
    let note: string;
    if (r < 4) {
      const m = mutateBytes(rng, bytes, [0, 8 + parts.header.length]);
      await writeFile(path, m.bytes);
      note = m.note;
    } else if (r < 7) {
      const m = mutateJson(rng, parts.header);
      await writeFile(path, joinSafetensors(m.text, parts.data));
      note = `header ${m.note}`;
    } else if (r < 9) {
      const m = poisonValues(rng, bytes)!;
      await writeFile(path, m.bytes);
      note = m.note;
    } else {
      note = await sparseHuge(rng, path, bytes);
    }
    return logitsCase(dir, model, ['model/model.safetensors'], note);
  },
};

export const shardIndexTarget: FuzzTarget<Corpus> = {
  name: 'shard-index',
  description: 'a sharded tiny qwen3 folder: model.safetensors.index.json (JSON, shard names) or a shard; cli logits',
  prepare: async (corpus) => corpus,
  async seedCase(corpus, dir) {
    const model = await copySeed(corpus.sharded, dir, 'model');
    return logitsCase(dir, model, ['model/model.safetensors.index.json'], 'seed');
  },
  async makeCase(corpus, rng, dir): Promise<FuzzCase> {
    const model = await copySeed(corpus.sharded, dir, 'model');
    const indexPath = join(model, 'model.safetensors.index.json');
    const text = await readFile(indexPath, 'utf8');
    const r = rng.int(0, 10);
    if (r < 6) {
      const m = mutateJson(rng, text);
      await writeFile(indexPath, m.text);
      return logitsCase(dir, model, ['model/model.safetensors.index.json'], `index ${m.note}`);
    }
    if (r < 8) {
      const index = JSON.parse(text) as { weight_map: Record<string, string> };
      const keys = Object.keys(index.weight_map);
      const key = pick(rng, keys);
      const name = pick(rng, [
        '../model.safetensors',
        '/etc/passwd',
        'model-00003-of-00002.safetensors',
        'shard\u001b[31m\u0007.safetensors',
        'a\\b.safetensors',
        '',
        'config.json',
      ]);
      index.weight_map[key] = name;
      await writeFile(indexPath, JSON.stringify(index));
      return logitsCase(dir, model, ['model/model.safetensors.index.json'], `${key} → ${JSON.stringify(name)}`);
    }
    const shard = pick(rng, ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    const path = join(model, shard);
    const bytes = new Uint8Array(await readFile(path));
    const parts = splitSafetensors(bytes)!;
    const m = rng.next() < 0.5 ? mutateBytes(rng, bytes, [0, 8 + parts.header.length]) : null;
    if (m) {
      await writeFile(path, m.bytes);
      return logitsCase(dir, model, [`model/${shard}`], `${shard}: ${m.note}`);
    }
    const j = mutateJson(rng, parts.header);
    await writeFile(path, joinSafetensors(j.text, parts.data));
    return logitsCase(dir, model, [`model/${shard}`], `${shard} header ${j.note}`);
  },
};
