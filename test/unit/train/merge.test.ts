/**
 * Merged weights on the host (no GPU): W += scaling · B @ A against a float64 computation, in F32 / F16 / BF16 models,
 * single file and sharded (in and out), other tensors and the config / tokenizer files unchanged, chunked writes, and
 * the refusals (GGUF-only folder, Phi-3, an adapter for another model) before anything is written.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryByteSource } from '../../../src/formats/byte-source.ts';
import { readSafetensorsHeader, readSafetensorsTensor, tensorBytesToF32 } from '../../../src/formats/safetensors.ts';
import { SafetensorsModel, parseSafetensorsIndex } from '../../../src/formats/safetensors-model.ts';
import { parseModelConfig } from '../../../src/model/config.ts';
import { FilesModelSource, type ModelByteSource, detectLayout } from '../../../src/model/source.ts';
import { NodeFolderModelSource } from '../../../src/model/source-node.ts';
import type { AdapterTensors } from '../../../src/train/adapter.ts';
import { adapterScaling, MergeError, mergeAdapter, shardName } from '../../../src/train/merge.ts';
import { type TinyModel, makeTinyModel } from '../../fixtures/make-models.ts';
import { memorySink } from '../../fixtures/memory-sink.ts';
import { randomAdapter } from '../../fixtures/random-adapter.ts';
import { seededRng } from '../../harness/rng.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'merge-unit-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** W + s·B@A in float64, per element. */
function expectedMerged(W: Float32Array, m: AdapterTensors['modules'][number], rank: number, s: number): Float64Array {
  const out = new Float64Array(W.length);
  for (let o = 0; o < m.outFeatures; o++) {
    for (let i = 0; i < m.inFeatures; i++) {
      let acc = 0;
      for (let r = 0; r < rank; r++) acc += m.B[o * rank + r]! * m.A[r * m.inFeatures + i]!;
      out[o * m.inFeatures + i] = W[o * m.inFeatures + i]! + s * acc;
    }
  }
  return out;
}

/** The merged folder as a model source, read back with the app's own readers. */
async function openMerged(files: Map<string, Uint8Array>): Promise<SafetensorsModel> {
  const source = new FilesModelSource(
    new Map([...files].map(([n, b]) => [n, new Blob([b as Uint8Array<ArrayBuffer>])])),
    'merged',
  );
  const layout = await detectLayout(source);
  if (layout.kind === 'safetensors')
    return SafetensorsModel.openSingle(new MemoryByteSource(files.get(layout.file)!, layout.file));
  if (layout.kind !== 'sharded') throw new Error('merged folder is GGUF?');
  return SafetensorsModel.openSharded(layout.index, async (f) => new MemoryByteSource(files.get(f)!, f));
}

const RELATIVE = { F32: 2 ** -24, F16: 2 ** -11, BF16: 2 ** -8 } as const;
/** Half the spacing of the dtype's subnormals: the absolute rounding error near zero. */
const ABSOLUTE = { F32: 2 ** -150, F16: 2 ** -25, BF16: 2 ** -134 } as const;

async function checkMerge(m: TinyModel, e: AdapterTensors, files: Map<string, Uint8Array>): Promise<void> {
  const merged = await openMerged(files);
  const s = adapterScaling(e);
  const adapted = new Map(e.modules.map((x) => [`${x.path}.weight`, x]));
  expect(merged.tensors.map((t) => t.name).sort()).toEqual(m.tensors.map((t) => t.name).sort());
  const source = await NodeFolderModelSource.open(m.dir);
  const layout = await detectLayout(source);
  const opened: ModelByteSource[] = [];
  const openFile = async (f: string) => {
    const b = await source.open(f);
    opened.push(b);
    return b;
  };
  const original =
    layout.kind === 'safetensors'
      ? await SafetensorsModel.openSingle(await openFile(layout.file), layout.file)
      : await SafetensorsModel.openSharded((layout as Extract<typeof layout, { kind: 'sharded' }>).index, openFile);
  try {
    for (const t of m.tensors) {
      const info = merged.get(t.name);
      expect(info.dtype).toBe(m.dtype);
      expect(info.shape).toEqual(t.shape);
      const mod = adapted.get(t.name);
      if (!mod) {
        expect(
          Buffer.from(await merged.readBytes(t.name)).equals(Buffer.from(await original.readBytes(t.name))),
          `${t.name} unchanged`,
        ).toBe(true);
        continue;
      }
      const got = await merged.readF32(t.name);
      const want = expectedMerged(t.values, mod, e.rank, s);
      for (let i = 0; i < want.length; i++) {
        const err = Math.abs(got[i]! - want[i]!);
        expect(err, `${t.name}[${i}]`).toBeLessThanOrEqual(
          RELATIVE[m.dtype] * Math.abs(want[i]!) * 1.0001 + ABSOLUTE[m.dtype],
        );
      }
      // The change is real: the adapter moves the weights by far more than the rounding.
      expect(Math.max(...Array.from(got, (v, i) => Math.abs(v - t.values[i]!)))).toBeGreaterThan(1e-2);
    }
  } finally {
    for (const b of opened) await b.close?.();
  }
}

describe('merging an adapter into a safetensors model', () => {
  it('F32 llama, every projection of every layer: one model.safetensors, W + s·B@A to f32 rounding', async () => {
    const m = await makeTinyModel('llama', join(root, 'llama-f32'));
    const d = parseModelConfig(m.config);
    const e = randomAdapter(d, seededRng('merge f32'), { rank: 4, alpha: 8 });
    const sink = memorySink();
    const result = await mergeAdapter(await NodeFolderModelSource.open(m.dir), e, sink);
    expect(result.shards).toEqual(['model.safetensors']);
    expect(result.mergedModules.sort()).toEqual(e.modules.map((x) => x.path).sort());
    expect([...sink.files.keys()].sort()).toEqual([
      'config.json',
      'generation_config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    expect(sink.order.at(-1)).toBe('config.json'); // the config last: a folder cut short is not a model
    expect(sink.openNow.size).toBe(0);
    for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json']) {
      expect(Buffer.from(sink.files.get(f)!).equals(await readFile(join(m.dir, f))), f).toBe(true);
    }
    const header = await readSafetensorsHeader(new MemoryByteSource(sink.files.get('model.safetensors')!));
    expect(header.metadata).toEqual({ format: 'pt' });
    expect(result.totalSize).toBe(header.fileSize - header.dataOffset);
    expect(result.files.find((f) => f.name === 'model.safetensors')!.bytes).toBe(header.fileSize);
    await checkMerge(m, e, sink.files);
  });

  it('BF16 sharded source into several shards with an index, written in bounded chunks', async () => {
    const m = await makeTinyModel('llama', join(root, 'llama-bf16-sharded'), { dtype: 'BF16', sharded: true });
    const d = parseModelConfig(m.config);
    const e = randomAdapter(d, seededRng('merge bf16'), {
      rank: 8,
      alpha: 4,
      targets: ['q_proj', 'k_proj', 'down_proj'],
      layers: [1, 2],
    });
    const sink = memorySink();
    const chunkBytes = 1 << 16;
    const result = await mergeAdapter(await NodeFolderModelSource.open(m.dir), e, sink, {
      shardBytes: 40_000,
      chunkBytes,
    });
    expect(result.shards.length).toBeGreaterThan(2);
    expect(result.shards).toEqual(result.shards.map((_, i) => shardName(i, result.shards.length)));
    expect(result.shards[0]).toMatch(/^model-00001-of-000\d\d\.safetensors$/);
    const index = parseSafetensorsIndex(new TextDecoder().decode(sink.files.get('model.safetensors.index.json')!));
    expect(index.totalSize).toBe(result.totalSize);
    expect([...index.weightMap.keys()].sort()).toEqual(m.tensors.map((t) => t.name).sort());
    expect(index.shards.sort()).toEqual([...result.shards].sort());
    let dataBytes = 0;
    for (const shard of result.shards) {
      const h = await readSafetensorsHeader(new MemoryByteSource(sink.files.get(shard)!), shard);
      dataBytes += h.fileSize - h.dataOffset;
      expect(h.fileSize - h.dataOffset <= 40_000 || h.tensors.length === 1).toBe(true);
      for (const t of h.tensors) expect(index.weightMap.get(t.name)).toBe(shard);
    }
    expect(dataBytes).toBe(result.totalSize);
    expect(sink.files.has('model.safetensors')).toBe(false);
    // Streaming: no write is larger than a chunk or a shard header.
    expect(sink.maxChunk).toBeLessThanOrEqual(chunkBytes + 8192);
    await checkMerge(m, e, sink.files);
  });

  it('F16 qwen2 with rsLoRA on some layers: biases and other layers untouched', async () => {
    const m = await makeTinyModel('qwen2', join(root, 'qwen2-f16'), { dtype: 'F16' });
    const d = parseModelConfig(m.config);
    const e = randomAdapter(d, seededRng('merge f16'), {
      rank: 6,
      alpha: 3,
      rslora: true,
      targets: ['q_proj', 'v_proj', 'up_proj'],
      layers: [0],
    }); // rank 6: 4 + 2 (both loops of mergeRows)
    const sink = memorySink();
    await mergeAdapter(await NodeFolderModelSource.open(m.dir), e, sink);
    expect(adapterScaling(e)).toBe(3 / Math.sqrt(6));
    await checkMerge(m, e, sink.files);
  });

  it('refuse GGUF-only sources, Phi-3 and adapters of another model, before writing anything', async () => {
    const m = await makeTinyModel('llama', join(root, 'llama-gguf'), { gguf: ['F32'] });
    const d = parseModelConfig(m.config);
    const rng = seededRng('merge refuse');
    const e = randomAdapter(d, rng, { targets: ['q_proj'], layers: [0] });
    const sink = memorySink();
    await expect(
      mergeAdapter(await NodeFolderModelSource.open(join(m.dir, m.ggufFiles.F32!)), e, sink),
    ).rejects.toThrow(/only a GGUF file.*safetensors/s);

    const phi = await makeTinyModel('phi3', join(root, 'phi3'));
    await expect(mergeAdapter(await NodeFolderModelSource.open(phi.dir), e, sink)).rejects.toThrow(/Phi-3/);

    const other = randomAdapter(parseModelConfig({ ...m.config, intermediate_size: 96 }), rng, {
      targets: ['up_proj'],
      layers: [0],
    });
    await expect(mergeAdapter(await NodeFolderModelSource.open(m.dir), other, sink)).rejects.toThrow(
      /another base model/,
    );
    const missing = { ...e, modules: [{ ...e.modules[0]!, path: 'model.layers.7.self_attn.q_proj' }] };
    await expect(mergeAdapter(await NodeFolderModelSource.open(m.dir), missing, sink)).rejects.toThrow(MergeError);
    await expect(mergeAdapter(await NodeFolderModelSource.open(m.dir), { ...e, modules: [] }, sink)).rejects.toThrow(
      /no LoRA modules/,
    );
    expect(sink.files.size).toBe(0);
    expect(sink.order).toEqual([]);
  });

  it('a cancelled merge stops with an AbortError and aborts the file it was writing', async () => {
    const m = await makeTinyModel('qwen2', join(root, 'qwen2-cancel'));
    const e = randomAdapter(parseModelConfig(m.config), seededRng('merge cancel'), {
      targets: ['q_proj'],
      layers: [0],
    });
    const sink = memorySink();
    let calls = 0;
    await expect(
      mergeAdapter(await NodeFolderModelSource.open(m.dir), e, sink, {
        chunkBytes: 1 << 16,
        cancelled: () => ++calls > 3,
      }),
    ).rejects.toThrow(/cancelled/);
    expect(sink.aborted).toEqual(['model.safetensors']);
    expect(sink.openNow.size).toBe(0);
    expect(sink.files.has('config.json')).toBe(false);
  });

  it('merged bytes of an F32 weight equal the source bytes when B is zero (a fresh adapter changes nothing)', async () => {
    const m = await makeTinyModel('qwen2', join(root, 'qwen2-zero'));
    const d = parseModelConfig(m.config);
    const e = randomAdapter(d, seededRng('merge zero'), { targets: ['o_proj'], layers: [1] });
    e.modules.forEach((x) => x.B.fill(0));
    const sink = memorySink();
    await mergeAdapter(await NodeFolderModelSource.open(m.dir), e, sink);
    const a = await readSafetensorsHeader(new MemoryByteSource(sink.files.get('model.safetensors')!));
    const src = new MemoryByteSource(new Uint8Array(await readFile(join(m.dir, 'model.safetensors'))));
    const b = await readSafetensorsHeader(src);
    const name = 'model.layers.1.self_attn.o_proj.weight';
    const got = tensorBytesToF32(
      'F32',
      await readSafetensorsTensor(new MemoryByteSource(sink.files.get('model.safetensors')!), a.byName.get(name)!),
    );
    const want = tensorBytesToF32('F32', await readSafetensorsTensor(src, b.byName.get(name)!));
    expect(Array.from(got)).toEqual(Array.from(want));
  });
});
