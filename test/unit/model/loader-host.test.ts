/**
 * The host side of model loading (no GPU): layout detection over browser Files, the checkpoint table and its
 * errors (missing tensor, wrong shape, unreadable dtype, unsupported model, K-quant rows that are not whole
 * blocks), the format choice and the host conversions.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGgufTensor } from '../../../src/formats/gguf-quant.ts';
import { gguf, writeGguf } from '../../../src/formats/gguf-write.ts';
import { f32ArrayToBf16 } from '../../../src/formats/half.ts';
import { type SafetensorsTensorInput, writeSafetensors } from '../../../src/formats/safetensors-write.ts';
import { checkTensors, openCheckpoint } from '../../../src/model/checkpoint.ts';
import {
  chooseFormat,
  encodeDense,
  HostMeter,
  rowSlice,
  storedRowBytes,
  storedToF32,
} from '../../../src/model/host-tensors.ts';
import { detectLayout, FilesModelSource, ModelLoadError } from '../../../src/model/source.ts';
import { NodeFolderModelSource } from '../../../src/model/source-node.ts';
import { makeTinyModel, type TinyModel } from '../../fixtures/make-models.ts';
import { seededRng } from '../../harness/rng.ts';

let root: string;
let llama: TinyModel;
let qwen3: TinyModel;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'loader-host-'));
  llama = await makeTinyModel('llama', join(root, 'llama'), { gguf: ['F32'] });
  qwen3 = await makeTinyModel('qwen3', join(root, 'qwen3'), { sharded: true });
}, 60_000);
afterAll(() => rm(root, { recursive: true, force: true }));

/** The folder's files as browser Files under a top folder, as a dropped folder gives them. */
async function asFiles(m: TinyModel, files: string[]): Promise<FilesModelSource> {
  const map = new Map<string, Blob>();
  for (const f of files) map.set(`dropped/${f}`, new Blob([await readFile(join(m.dir, f))]));
  return new FilesModelSource(map);
}

/** A copy of the llama folder whose safetensors has `edit` applied to its tensor list. */
async function editedLlama(
  name: string,
  edit: (t: SafetensorsTensorInput[]) => SafetensorsTensorInput[],
): Promise<string> {
  const dir = join(root, name);
  await makeTinyModel('llama', dir);
  const inputs = llama.tensors.map((t) => ({ name: t.name, dtype: 'F32' as const, shape: t.shape, data: t.values }));
  await writeFile(join(dir, 'model.safetensors'), writeSafetensors(edit(inputs)));
  return dir;
}

describe('model sources and layouts', () => {
  it('detects single, sharded and GGUF layouts from dropped browser Files (common top folder stripped)', async () => {
    const single = await asFiles(llama, ['config.json', 'model.safetensors', 'tokenizer.json']);
    expect(single.name).toBe('dropped');
    expect((await detectLayout(single)).kind).toBe('safetensors');
    const sharded = await asFiles(qwen3, ['config.json', 'model.safetensors.index.json', ...qwen3.safetensorsFiles]);
    expect((await detectLayout(sharded)).kind).toBe('sharded');
    const ggufOnly = await asFiles(llama, [llama.ggufFiles.F32!]);
    expect(await detectLayout(ggufOnly)).toEqual({ kind: 'gguf', file: llama.ggufFiles.F32 });
    // The checkpoint of the Files source is the same as the Node folder's.
    const ckpt = await openCheckpoint(sharded);
    expect(ckpt.files).toEqual(qwen3.safetensorsFiles);
    expect(checkTensors(ckpt).length).toBe(qwen3.tensors.length);
    const t = qwen3.tensors[5]!;
    expect(storedToF32('f32', await ckpt.tensors.get(t.name)!.read(), t.values.length)).toEqual(t.values);
    await ckpt.close();
  });

  it('explains folders it cannot load', async () => {
    await expect(detectLayout(await asFiles(llama, ['config.json', 'tokenizer.json']))).rejects.toThrow(
      /has no model weights/,
    );
    await expect(detectLayout(await asFiles(llama, ['model.safetensors']))).rejects.toThrow(/no config.json/);
    await expect(
      detectLayout(await asFiles(qwen3, ['config.json', 'model.safetensors.index.json', qwen3.safetensorsFiles[0]!])),
    ).rejects.toThrow(new RegExp(`not in the folder: ${qwen3.safetensorsFiles[1]}`));
    const pt = new FilesModelSource(
      new Map([
        ['m/config.json', new Blob(['{}'])],
        ['m/pytorch_model.bin', new Blob(['x'])],
      ]),
    );
    await expect(detectLayout(pt)).rejects.toThrow(/PyTorch \.bin/);
    const unsupported = new FilesModelSource(
      new Map([
        ['config.json', new Blob([JSON.stringify({ ...llama.config, model_type: 'gpt2' })])],
        ['model.safetensors', new Blob([await readFile(join(llama.dir, 'model.safetensors'))])],
      ]),
    );
    await expect(openCheckpoint(unsupported)).rejects.toThrow(/"gpt2" is not supported/);
    await expect(NodeFolderModelSource.open(join(root, 'nowhere'))).rejects.toThrow(ModelLoadError);
  });
});

describe('checkpoint errors name the tensor', () => {
  it('a missing tensor', async () => {
    const dir = await editedLlama('missing', (ts) => ts.filter((t) => t.name !== 'model.layers.1.mlp.up_proj.weight'));
    const ckpt = await openCheckpoint(await NodeFolderModelSource.open(dir));
    expect(() => checkTensors(ckpt)).toThrow(
      /missing tensor model\.layers\.1\.mlp\.up_proj\.weight \(expected shape \[128, 64\]\) in model\.safetensors/,
    );
    await ckpt.close();
  });

  it('a wrong shape, expected vs got', async () => {
    const dir = await editedLlama('shape', (ts) =>
      ts.map((t) => (t.name === 'model.layers.0.self_attn.k_proj.weight' ? { ...t, shape: [64, 32] } : t)),
    );
    const ckpt = await openCheckpoint(await NodeFolderModelSource.open(dir));
    expect(() => checkTensors(ckpt)).toThrow(
      /tensor model\.layers\.0\.self_attn\.k_proj\.weight has shape \[64, 32\], expected \[32, 64\]/,
    );
    await ckpt.close();
  });

  it('an unreadable dtype', async () => {
    const dir = await editedLlama('dtype', (ts) =>
      ts.map((t) =>
        t.name === 'model.layers.2.mlp.down_proj.weight'
          ? { name: t.name, dtype: 'U8' as const, shape: t.shape, data: new Uint8Array(t.shape[0]! * t.shape[1]!) }
          : t,
      ),
    );
    const ckpt = await openCheckpoint(await NodeFolderModelSource.open(dir));
    expect(() => checkTensors(ckpt)).toThrow(
      /down_proj\.weight is stored as U8, which cannot be loaded \(supported: F32, F16, BF16\)/,
    );
    await ckpt.close();
  });

  it('a K-quant tensor whose rows are not whole 256-value blocks', async () => {
    // A valid Q4_K tensor of one 256-value row, then its dims patched to 4 rows of 64 (same byte count).
    const values = seededRng('q4k rows').f32(256);
    const file = writeGguf({
      metadata: [['general.architecture', gguf.string('llama')]],
      tensors: [
        { name: 'token_embd.weight', type: 'Q4_K', shape: [1, 256], data: encodeGgufTensor('Q4_K', values, [1, 256]) },
      ],
    });
    const at = Buffer.from(file).indexOf('token_embd.weight') + 'token_embd.weight'.length + 4;
    const view = new DataView(file.buffer);
    view.setBigUint64(at, 64n, true);
    view.setBigUint64(at + 8, 4n, true);
    const source = new FilesModelSource(new Map([['bad.gguf', new Blob([file])]]));
    await expect(openCheckpoint(source)).rejects.toThrow(
      /token_embd\.weight.*Q4_K needs rows that are a multiple of 256 values, got a row of 64/,
    );
  });
});

describe('format choice and host conversions', () => {
  it('follows the plan defaults, keeps K-quants as stored, and falls back to dense for rows of partial blocks', () => {
    expect(chooseFormat('projection', 'bf16', 64, 'none')).toEqual({ format: 'bf16' });
    expect(chooseFormat('projection', 'bf16', 64, 'nf4')).toEqual({ format: 'nf4' });
    expect(chooseFormat('embedding', 'bf16', 64, 'none')).toEqual({ format: 'bf16' });
    expect(chooseFormat('embedding', 'f32', 64, 'nf4')).toEqual({ format: 'q8_0' });
    expect(chooseFormat('head', 'f16', 64, 'nf4', 'f16')).toEqual({ format: 'f16' });
    for (const k of ['q2_k', 'q3_k', 'q4_k', 'q5_k', 'q6_k'] as const) {
      expect(chooseFormat('projection', k, 256, 'none')).toEqual({ format: k });
      expect(chooseFormat('head', k, 512, 'none')).toEqual({ format: k });
      expect(chooseFormat('projection', k, 256, 'nf4')).toEqual({ format: 'nf4' });
      expect(chooseFormat('embedding', k, 256, 'q4_0')).toEqual({ format: 'q8_0' });
    }
    expect(chooseFormat('projection', 'q8_0', 64, 'none')).toEqual({ format: 'q8_0' });
    expect(chooseFormat('projection', 'f16', 96, 'nf4')).toEqual({ format: 'f16', fallbackFrom: 'nf4' });
    expect(chooseFormat('projection', 'q8_0', 96, 'nf4')).toEqual({ format: 'f32', fallbackFrom: 'nf4' });
    expect(chooseFormat('projection', 'f32', 48, 'q4_0')).toEqual({ format: 'f32', fallbackFrom: 'q4_0' });
  });

  it('converts and slices rows exactly; the meter keeps the peak', () => {
    const x = seededRng('host conversions').f32(6 * 8);
    const bf = f32ArrayToBf16(x);
    const bfBytes = new Uint8Array(bf.buffer);
    const back = storedToF32('bf16', bfBytes, x.length);
    expect(encodeDense('bf16', back)).toEqual(bfBytes);
    expect(storedToF32('f32', encodeDense('f32', x), x.length)).toEqual(x);
    expect(storedRowBytes('q4_k', 512)).toBe(288);
    expect([storedRowBytes('q2_k', 256), storedRowBytes('q3_k', 256), storedRowBytes('q5_k', 768)]).toEqual([
      84, 110, 528,
    ]);
    expect(storedRowBytes('q6_k', 512)).toBe(420);
    expect(() => storedRowBytes('q8_0', 48)).toThrow(/whole 32-value blocks/);
    const rows = rowSlice(encodeDense('f32', x), storedRowBytes('f32', 8), 2, 3);
    expect(storedToF32('f32', rows, 24)).toEqual(x.slice(16, 40));
    const meter = new HostMeter();
    meter.hold(new Uint8Array(100));
    meter.holdBytes(50);
    meter.releaseAll();
    meter.hold(new Uint8Array(120));
    expect(meter.peak).toBe(150);
  });
});
