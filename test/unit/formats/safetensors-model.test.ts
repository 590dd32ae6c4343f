import { describe, expect, it } from 'vitest';
import { type ByteSource, MemoryByteSource } from '../../../src/formats/byte-source.ts';
import { parseSafetensorsIndex, SafetensorsModel } from '../../../src/formats/safetensors-model.ts';
import { writeSafetensors } from '../../../src/formats/safetensors-write.ts';

const t = (name: string, values: number[]) => ({
  name,
  dtype: 'F32' as const,
  shape: [values.length],
  data: Float32Array.from(values),
});

const shard1 = writeSafetensors([t('model.embed_tokens.weight', [1, 2]), t('model.layers.0.mlp.up_proj.weight', [3])], {
  format: 'pt',
});
const shard2 = writeSafetensors([t('model.norm.weight', [4, 5, 6]), t('lm_head.weight', [7])], { format: 'pt' });
const files = new Map([
  ['model-00001-of-00002.safetensors', shard1],
  ['model-00002-of-00002.safetensors', shard2],
]);
const index = JSON.stringify({
  metadata: { total_size: 28 },
  weight_map: {
    'model.embed_tokens.weight': 'model-00001-of-00002.safetensors',
    'model.layers.0.mlp.up_proj.weight': 'model-00001-of-00002.safetensors',
    'model.norm.weight': 'model-00002-of-00002.safetensors',
    'lm_head.weight': 'model-00002-of-00002.safetensors',
  },
});

function opener(opened: string[]): (file: string) => Promise<ByteSource> {
  return async (file) => {
    opened.push(file);
    const bytes = files.get(file);
    if (!bytes) throw new Error(`no such shard ${file}`);
    return new MemoryByteSource(bytes, file);
  };
}

describe('sharded safetensors', () => {
  it('parses the index: total size, weight map and shard list', () => {
    const parsed = parseSafetensorsIndex(index);
    expect(parsed.totalSize).toBe(28);
    expect(parsed.shards).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    expect(parsed.weightMap.get('model.norm.weight')).toBe('model-00002-of-00002.safetensors');
  });

  it('routes every tensor to its shard and reads it from there', async () => {
    const opened: string[] = [];
    const model = await SafetensorsModel.openSharded(parseSafetensorsIndex(index), opener(opened));
    expect(opened).toEqual([...files.keys()]);
    expect(model.tensors.map((x) => [x.name, x.file])).toEqual([
      ['model.embed_tokens.weight', 'model-00001-of-00002.safetensors'],
      ['model.layers.0.mlp.up_proj.weight', 'model-00001-of-00002.safetensors'],
      ['model.norm.weight', 'model-00002-of-00002.safetensors'],
      ['lm_head.weight', 'model-00002-of-00002.safetensors'],
    ]);
    expect(Array.from(await model.readF32('model.norm.weight'))).toEqual([4, 5, 6]);
    expect(Array.from(await model.readF32('model.layers.0.mlp.up_proj.weight'))).toEqual([3]);
    expect(Array.from(await model.readF32('lm_head.weight'))).toEqual([7]);
    expect(model.metadata).toEqual({ format: 'pt' });
    await expect(model.readF32('nope')).rejects.toThrow(/tensor "nope" is not in this model/);
  });

  it('treats a single file the same way', async () => {
    const model = await SafetensorsModel.openSingle(new MemoryByteSource(shard2, 'model.safetensors'));
    expect(model.tensors.map((x) => x.file)).toEqual(['model.safetensors', 'model.safetensors']);
    expect(Array.from(await model.readF32('lm_head.weight'))).toEqual([7]);
  });

  it('refuses an index that routes a tensor to a shard without it', async () => {
    const wrong = JSON.parse(index) as { weight_map: Record<string, string> };
    wrong.weight_map['lm_head.weight'] = 'model-00001-of-00002.safetensors';
    await expect(
      SafetensorsModel.openSharded(parseSafetensorsIndex(JSON.stringify(wrong)), opener([])),
    ).rejects.toThrow(
      /model-00001-of-00002\.safetensors: the index routes tensor "lm_head\.weight" to this shard, but the shard does not contain it/,
    );
  });

  it('refuses malformed indexes', () => {
    expect(() => parseSafetensorsIndex('{')).toThrow(/model\.safetensors\.index\.json: not valid JSON/);
    expect(() => parseSafetensorsIndex('{"metadata":{}}')).toThrow(/not a safetensors index: weight_map/);
    expect(() => parseSafetensorsIndex('{"weight_map":{"a":"../../etc/passwd"}}')).toThrow(
      /not a plain relative \*\.safetensors file name/,
    );
    expect(() => parseSafetensorsIndex('{"weight_map":{"a":3}}')).toThrow(/weight_map\.a/);
    // Control characters (terminal escapes) in a shard name are refused, and shown escaped.
    expect(() => parseSafetensorsIndex('{"weight_map":{"a":"x\\u001b[31m.safetensors"}}')).toThrow(/x\\u001b\[31m/);
    expect(() => parseSafetensorsIndex('{"weight_map":{"a":"config.json"}}')).toThrow(/config\.json/);
  });
});
