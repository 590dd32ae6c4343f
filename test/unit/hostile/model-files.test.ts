/**
 * Hostile model files (issue #12): limits checked before allocating, each refusal naming the file and the field —
 * config.json sizes, GGUF counts / nesting / offsets, safetensors sizes, sharded indexes, PEFT configs and values,
 * and a config with fewer layers than its weights.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryByteSource } from '../../../src/formats/byte-source.ts';
import { readGguf } from '../../../src/formats/gguf.ts';
import { gguf, writeGguf } from '../../../src/formats/gguf-write.ts';
import { encodeGgufTensor } from '../../../src/formats/gguf-quant.ts';
import { peftConfigJson, peftWeights, readPeftAdapter } from '../../../src/formats/peft.ts';
import { parseSafetensorsHeader } from '../../../src/formats/safetensors.ts';
import { writeSafetensors } from '../../../src/formats/safetensors-write.ts';
import { checkTensors, openCheckpoint } from '../../../src/model/checkpoint.ts';
import { parseModelConfig } from '../../../src/model/config.ts';
import { NodeFolderModelSource } from '../../../src/model/source-node.ts';
import { makeTinyModel, type TinyModel } from '../../fixtures/make-models.ts';
import { randomAdapter } from '../../fixtures/random-adapter.ts';
import { Rng } from '../../harness/rng.ts';
import { TINY_CONFIGS } from '../../reference/model/tiny-configs.ts';

describe('config.json limits', () => {
  it.each([
    ['num_hidden_layers', 1e9],
    ['num_attention_heads', 2 ** 31],
    ['vocab_size', 2 ** 40],
    ['hidden_size', 1e6],
    ['intermediate_size', 2 ** 40],
    ['max_position_embeddings', 2 ** 40],
  ])('%s = %d is refused before anything is allocated, naming the file and the field', (key, value) => {
    expect(() => parseModelConfig({ ...TINY_CONFIGS.llama, [key]: value })).toThrow(
      new RegExp(`config\\.json: ${key} is ${value}`),
    );
  });

  it('products that overflow are refused (heads × head_dim, the parameter count)', () => {
    expect(() => parseModelConfig({ ...TINY_CONFIGS.llama, num_attention_heads: 1024, head_dim: 4096 })).toThrow(
      /num_attention_heads × head_dim/,
    );
    expect(() =>
      parseModelConfig({
        ...TINY_CONFIGS.llama,
        hidden_size: 65536,
        intermediate_size: 262144,
        num_hidden_layers: 1024,
        num_attention_heads: 64,
      }),
    ).toThrow(/parameters, more than/);
  });

  it('a GGUF-derived config names the GGUF file', () => {
    expect(() => parseModelConfig({ ...TINY_CONFIGS.llama, num_hidden_layers: 1e9 }, 'x.gguf (GGUF metadata)')).toThrow(
      /x\.gguf \(GGUF metadata\): num_hidden_layers/,
    );
  });
});

describe('a config with fewer layers than the weights', () => {
  let root: string;
  let model: TinyModel;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'hostile-cfg-'));
    model = await makeTinyModel('llama', join(root, 'm'), { seed: 3, gguf: ['F32'] });
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('is refused (safetensors), naming config.json and the extra layer', async () => {
    const layers = model.config.num_hidden_layers as number;
    await writeFile(join(model.dir, 'config.json'), JSON.stringify({ ...model.config, num_hidden_layers: layers - 1 }));
    const ckpt = await openCheckpoint(await NodeFolderModelSource.open(model.dir));
    try {
      expect(() => checkTensors(ckpt)).toThrow(
        new RegExp(`weights for layer ${layers - 1} .* config\\.json says num_hidden_layers = ${layers - 1}`),
      );
    } finally {
      await ckpt.close();
      await writeFile(join(model.dir, 'config.json'), JSON.stringify(model.config));
    }
  });
});

describe('a sharded index that leaves a tensor out', () => {
  it('is refused naming model.safetensors.index.json and the tensor', async () => {
    const root = await mkdtemp(join(tmpdir(), 'hostile-index-'));
    try {
      const model = await makeTinyModel('qwen3', join(root, 'm'), { seed: 4, sharded: true });
      const indexPath = join(model.dir, 'model.safetensors.index.json');
      const index = JSON.parse(await readFile(indexPath, 'utf8')) as { weight_map: Record<string, string> };
      const dropped = 'model.layers.0.self_attn.k_norm.weight';
      delete index.weight_map[dropped];
      await writeFile(indexPath, JSON.stringify(index));
      const ckpt = await openCheckpoint(await NodeFolderModelSource.open(model.dir));
      try {
        expect(() => checkTensors(ckpt)).toThrow(
          new RegExp(
            `missing tensor ${dropped.replace(/\./g, '\\.')} .*not in model\\.safetensors\\.index\\.json's weight_map`,
          ),
        );
      } finally {
        await ckpt.close();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

function tinyGguf(extra: [string, ReturnType<typeof gguf.u32>][] = []): Uint8Array<ArrayBuffer> {
  const rng = new Rng(1);
  const tensor = (name: string) => ({
    name,
    type: 'F32' as const,
    shape: [4, 8],
    data: encodeGgufTensor('F32', rng.f32(32), [4, 8]),
  });
  return writeGguf({
    metadata: [['general.architecture', gguf.string('llama')], ...extra],
    tensors: [tensor('a.weight'), tensor('b.weight')],
  });
}

/** Byte position of the offset field of tensor info `index` (the last field of each info), by walking the header. */
function tensorOffsetField(file: Uint8Array, names: string[], index: number): number {
  const text = new TextDecoder('latin1').decode(file);
  const at = text.indexOf(names[index]!) + names[index]!.length;
  const nDims = new DataView(file.buffer, file.byteOffset).getUint32(at, true);
  return at + 4 + 8 * nDims + 4;
}

describe('GGUF limits', () => {
  it('refuses metadata arrays nested deeper than 8 (no recursion blow-up), naming the key', async () => {
    let v = gguf.array('u8', [1]);
    for (let d = 0; d < 20; d++) v = gguf.array('array', [v]);
    const file = writeGguf({ metadata: [['x.deep', v]], tensors: [] });
    await expect(readGguf(new MemoryByteSource(file, 'deep.gguf'))).rejects.toThrow(
      /deep\.gguf: metadata "x\.deep" nests arrays more than 8 deep/,
    );
  });

  it('refuses counts claiming 1e9 tensors or entries without allocating them', async () => {
    const file = tinyGguf();
    for (const [at, what] of [
      [8, 'tensor count'],
      [16, 'metadata count'],
    ] as const) {
      const bad = file.slice();
      new DataView(bad.buffer).setBigUint64(at, 1_000_000_000n, true);
      await expect(readGguf(new MemoryByteSource(bad, 'big.gguf'))).rejects.toThrow(
        new RegExp(`big\\.gguf: ${what} is 1000000000, more than`),
      );
    }
  });

  it('refuses an array whose items would exceed the metadata budget', async () => {
    const file = writeGguf({ metadata: [['x.many', gguf.array('u8', new Array(64).fill(1))]], tensors: [] });
    const bad = file.slice();
    const text = new TextDecoder('latin1').decode(bad);
    const countAt = text.indexOf('x.many') + 'x.many'.length + 4 + 4;
    new DataView(bad.buffer).setBigUint64(countAt, 2n ** 40n, true);
    await expect(readGguf(new MemoryByteSource(bad, 'many.gguf'))).rejects.toThrow(
      /many\.gguf: item count of "x\.many"/,
    );
  });

  it('refuses tensors whose offsets overlap, or lie outside the file', async () => {
    const file = tinyGguf();
    const names = ['a.weight', 'b.weight'];
    const overlap = file.slice();
    const view = new DataView(overlap.buffer);
    view.setBigUint64(
      tensorOffsetField(overlap, names, 1),
      view.getBigUint64(tensorOffsetField(overlap, names, 0), true),
      true,
    );
    await expect(readGguf(new MemoryByteSource(overlap, 'o.gguf'))).rejects.toThrow(
      /o\.gguf: tensor "(a|b)\.weight" .* overlaps tensor "(a|b)\.weight"/,
    );
    const outside = file.slice();
    new DataView(outside.buffer).setBigUint64(tensorOffsetField(outside, names, 1), 1n << 40n, true);
    await expect(readGguf(new MemoryByteSource(outside, 'out.gguf'))).rejects.toThrow(
      /out\.gguf: offset of "b\.weight"/,
    );
  });

  it('refuses dims whose product no file can hold', async () => {
    const file = tinyGguf();
    const bad = file.slice();
    const text = new TextDecoder('latin1').decode(bad);
    const dimsAt = text.indexOf('a.weight') + 'a.weight'.length + 4;
    new DataView(bad.buffer).setBigUint64(dimsAt, 2n ** 52n, true);
    await expect(readGguf(new MemoryByteSource(bad, 'd.gguf'))).rejects.toThrow(/d\.gguf: tensor "a\.weight" has dims/);
  });
});

describe('safetensors limits', () => {
  it('refuses a tensor whose shape needs more bytes than the file has (before any read)', () => {
    const file = writeSafetensors([{ name: 'w', dtype: 'F32', shape: [2, 2], data: new Float32Array(4) }]);
    const n = Number(new DataView(file.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))) as Record<string, { shape: number[] }>;
    header.w!.shape = [2 ** 30, 2 ** 30];
    expect(() =>
      parseSafetensorsHeader(new TextEncoder().encode(JSON.stringify(header)), file.byteLength, 'model.safetensors'),
    ).toThrow(/model\.safetensors: tensor "w" \(F32 \[1073741824, 1073741824\]\) would need/);
  });
});

describe('PEFT adapter limits', () => {
  const d = parseModelConfig(TINY_CONFIGS.llama);
  const e = randomAdapter(d, new Rng(4), { rank: 2, targets: ['q_proj'], layers: [0] });

  it('refuses lora_alpha 1e308 (every logit would overflow), naming adapter_config.json', async () => {
    const config = { ...JSON.parse(peftConfigJson(e)), lora_alpha: 1e308 };
    await expect(readPeftAdapter(JSON.stringify(config), new MemoryByteSource(peftWeights(e)))).rejects.toThrow(
      /adapter_config\.json.*lora_alpha/,
    );
  });

  it('refuses an adapter with one NaN or Inf value, naming the tensor', async () => {
    for (const bad of [Number.NaN, Infinity, 1e30]) {
      const poisoned = { ...e, modules: e.modules.map((m) => ({ ...m, B: Float32Array.from(m.B) })) };
      poisoned.modules[0]!.B[3] = bad;
      await expect(
        readPeftAdapter(peftConfigJson(poisoned), new MemoryByteSource(peftWeights(poisoned))),
      ).rejects.toThrow(
        /adapter_model\.safetensors: tensor "base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_B\.weight" holds .* at element 3/,
      );
    }
  });

  it('a config with 100 000 bad entries gives a short message: the first issues and how many more', async () => {
    const config = { ...JSON.parse(peftConfigJson(e)), modules_to_save: new Array(100_000).fill(null) };
    const err = await readPeftAdapter(JSON.stringify(config), new MemoryByteSource(peftWeights(e))).catch((x) => x);
    expect((err as Error).message).toMatch(/adapter_config\.json/);
    expect((err as Error).message).toMatch(/modules_to_save\.4: .*\(and 99995 more\)/);
    expect((err as Error).message.length).toBeLessThan(1000);
  });

  it('names the file when adapter_config.json is not JSON, and refuses 1-D LoRA tensors', async () => {
    await expect(readPeftAdapter('{', new MemoryByteSource(peftWeights(e)))).rejects.toThrow(
      /adapter_config\.json is not valid JSON/,
    );
    const flat = writeSafetensors([
      {
        name: 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight',
        dtype: 'F32',
        shape: [32],
        data: new Float32Array(32),
      },
    ]);
    await expect(readPeftAdapter(peftConfigJson(e), new MemoryByteSource(flat))).rejects.toThrow(
      /adapter_model\.safetensors: tensor .*lora_A\.weight" has shape \[32\]/,
    );
  });
});
