/**
 * Export of a run without a GPU: a checkpoint's bytes → the PEFT folder (weights exactly as trained, config, model
 * card), its zip, the run + checkpoint read from IndexedDB (fake-indexeddb) by the worker's exportRun, and the files
 * written into a folder handle (an in-memory FileSystemDirectoryHandle).
 */
import 'fake-indexeddb/auto';
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { summarize } from '../../../src/app/export/checkpoints.ts';
import { MemoryByteSource } from '../../../src/formats/byte-source.ts';
import { readPeftAdapter } from '../../../src/formats/peft.ts';
import { readSafetensorsHeader } from '../../../src/formats/safetensors.ts';
import { parseModelConfig } from '../../../src/model/config.ts';
import { saveCheckpointRow } from '../../../src/storage/checkpoints.ts';
import { exportRun, lossAtStep, pickCheckpoint } from '../../../src/worker/export.ts';
import { workerDb } from '../../../src/worker/runtime.ts';
import {
  adapterExport,
  checkSupported,
  exportFolderName,
  safeName,
  zipExport,
} from '../../../src/worker/export-files.ts';
import { filesToCopy, stripSharedFolders } from '../../../src/worker/local-model.ts';
import { fakeCheckpoint, fakeRun } from '../../fixtures/fake-run.ts';
import { seededRng } from '../../harness/rng.ts';

const R = 4;
const MODULES = [
  { path: 'model.layers.0.self_attn.q_proj', K: 16, M: 16 },
  { path: 'model.layers.0.self_attn.v_proj', K: 16, M: 8 },
  { path: 'model.layers.1.self_attn.q_proj', K: 16, M: 16 },
  { path: 'model.layers.1.self_attn.v_proj', K: 16, M: 8 },
];

function checkpointBytes(step: number, seedText: string) {
  return fakeCheckpoint({
    rng: seededRng(seedText),
    step,
    rank: R,
    alpha: 8,
    modules: MODULES,
    baseModel: 'tiny/llama',
  });
}

/** A llama whose q_proj is [16 × 16] and v_proj [8 × 16], two layers: the shape of MODULES. */
const CONFIG = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 16,
  intermediate_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 64,
  max_position_embeddings: 128,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
};
const DESC = parseModelConfig(CONFIG);

const runInfo = (id: string, name: string) =>
  fakeRun(id, name, { repo: 'tiny/llama', revision: 'main' }, { rank: R, alpha: 8, step: 40 });

/** An in-memory FileSystemDirectoryHandle: the calls writeFolder makes, nothing more. */
class MemoryDir {
  readonly dirs = new Map<string, MemoryDir>();
  readonly files = new Map<string, Uint8Array>();
  constructor(readonly name: string) {}
  async getDirectoryHandle(name: string, opts?: { create?: boolean }): Promise<MemoryDir> {
    let d = this.dirs.get(name);
    if (!d) {
      if (!opts?.create) throw Object.assign(new Error(`${name} not found`), { name: 'NotFoundError' });
      d = new MemoryDir(name);
      this.dirs.set(name, d);
    }
    return d;
  }
  async getFileHandle(name: string, _opts?: { create?: boolean }) {
    const files = this.files;
    return {
      async createWritable() {
        const chunks: Uint8Array[] = [];
        return {
          async write(data: Uint8Array) {
            chunks.push(data.slice());
          },
          async close() {
            const total = chunks.reduce((s, c) => s + c.byteLength, 0);
            const out = new Uint8Array(total);
            let off = 0;
            for (const c of chunks) {
              out.set(c, off);
              off += c.byteLength;
            }
            files.set(name, out);
          },
          async abort() {},
        };
      },
    };
  }
}

describe('export of a run (pure part)', () => {
  it('writes the PEFT folder with the checkpoint weights bit for bit, its config and card', async () => {
    const ck = checkpointBytes(40, 'latest');
    const out = await adapterExport({
      run: runInfo('r1', 'My run: v2/greet'),
      checkpoint: { step: 40, valLoss: 0.9, bytes: ck.bytes },
      which: 'latest',
      format: 'peft',
      dtype: 'f32',
      loss: 0.5,
    });
    expect(out.folder).toBe('My-run-v2-greet-peft');
    expect(out.files.map((f) => f.name)).toEqual(['adapter_model.safetensors', 'adapter_config.json', 'README.md']);
    const files = new Map(out.files.map((f) => [f.name, f.bytes]));
    const configText = new TextDecoder().decode(files.get('adapter_config.json'));
    const peft = await readPeftAdapter(configText, new MemoryByteSource(files.get('adapter_model.safetensors')!));
    expect(peft.rank).toBe(R);
    expect(peft.config.lora_alpha).toBe(8);
    expect(peft.config.base_model_name_or_path).toBe('tiny/llama');
    expect([...peft.modules.keys()].sort()).toEqual(MODULES.map((m) => m.path).sort());
    for (const m of MODULES) {
      const got = peft.modules.get(m.path)!;
      expect(got.inFeatures).toBe(m.K);
      expect(got.outFeatures).toBe(m.M);
      expect(Array.from(got.A)).toEqual(Array.from(ck.A.get(m.path)!));
      expect(Array.from(got.B)).toEqual(Array.from(ck.B.get(m.path)!));
    }
    const card = new TextDecoder().decode(files.get('README.md'));
    expect(card).toContain('greetings');
    expect(card).toMatch(/\| steps \| 40 \|/);
    expect(card).toContain('Final training loss: 0.5000');
    expect(card).toContain('Final validation loss: 0.9000');
    expect(card).toContain('q8_0');
  });

  it('zips the folder: every file under <folder>/, unchanged', async () => {
    const ck = checkpointBytes(20, 'best');
    const out = await adapterExport({
      run: runInfo('r1', 'run'),
      checkpoint: { step: 20, valLoss: 0.7, bytes: ck.bytes },
      which: 'best',
      format: 'peft',
      dtype: 'f32',
      loss: null,
    });
    expect(out.folder).toBe('run-best-peft');
    const entries = unzipSync(zipExport(out.folder, out.files));
    expect(Object.keys(entries).sort()).toEqual([
      'run-best-peft/README.md',
      'run-best-peft/adapter_config.json',
      'run-best-peft/adapter_model.safetensors',
    ]);
    for (const f of out.files) expect(entries[`run-best-peft/${f.name}`]).toEqual(f.bytes);
  });

  it('writes MLX and GGUF adapters and smaller dtypes with the model’s shape, and refuses an adapter of another shape', async () => {
    const ck = checkpointBytes(40, 'formats');
    const input = {
      run: runInfo('r1', 'run'),
      checkpoint: { step: 40, valLoss: 0.9, bytes: ck.bytes },
      which: 'latest' as const,
      loss: 0.5,
      desc: DESC,
    };
    const mlx = await adapterExport({ ...input, format: 'mlx', dtype: 'bf16' });
    expect(mlx.folder).toBe('run-mlx');
    expect(mlx.files.map((f) => f.name)).toEqual(['adapters.safetensors', 'adapter_config.json', 'README.md']);
    expect(JSON.parse(new TextDecoder().decode(mlx.files[1]!.bytes))).toMatchObject({
      fine_tune_type: 'lora',
      num_layers: 2,
    });
    expect(
      (await readSafetensorsHeader(new MemoryByteSource(mlx.files[0]!.bytes))).tensors.every((t) => t.dtype === 'BF16'),
    ).toBe(true);
    const gguf = await adapterExport({ ...input, format: 'gguf', dtype: 'f16' });
    expect(gguf.files.map((f) => f.name)).toEqual(['adapter.gguf', 'README.md']);
    expect(new TextDecoder().decode(gguf.files[0]!.bytes.subarray(0, 4))).toBe('GGUF');
    const peft16 = await adapterExport({ ...input, format: 'peft', dtype: 'f16' });
    const header = await readSafetensorsHeader(new MemoryByteSource(peft16.files[0]!.bytes));
    expect(header.tensors.every((t) => t.dtype === 'F16')).toBe(true);
    // Without the model's shape only PEFT can be written.
    await expect(adapterExport({ ...input, desc: null, format: 'gguf', dtype: 'f32' })).rejects.toMatchObject({
      name: 'HintedError',
      message: expect.stringContaining('not in this browser'),
    });
    expect((await adapterExport({ ...input, desc: null, format: 'peft', dtype: 'f32' })).files).toHaveLength(3);
    // Another model's shape.
    const wider = parseModelConfig({ ...CONFIG, hidden_size: 32 });
    await expect(adapterExport({ ...input, desc: wider, format: 'peft', dtype: 'f32' })).rejects.toMatchObject({
      name: 'HintedError',
      message: expect.stringContaining('trained on another base model'),
    });
  });

  it('refuses dtypes a format cannot hold, and unreadable checkpoints, with a hint', async () => {
    expect(() => checkSupported('peft', 'f32')).not.toThrow();
    expect(() => checkSupported('merged', 'bf16')).not.toThrow(); // merged keeps the stored dtypes
    expect(() => checkSupported('gguf', 'bf16')).toThrow(
      expect.objectContaining({ name: 'HintedError', hint: 'Pick f32 or f16.' }),
    );
    await expect(
      adapterExport({
        run: runInfo('r', 'r'),
        checkpoint: { step: 1, valLoss: null, bytes: new Uint8Array(64) },
        which: 'latest',
        format: 'peft',
        dtype: 'f32',
        loss: null,
      }),
    ).rejects.toMatchObject({
      name: 'HintedError',
      message: expect.stringContaining('cannot be read'),
      hint: expect.stringContaining('other checkpoint'),
    });
  });

  it('names folders safely', () => {
    expect(safeName('  ../../etc/passwd ')).toBe('etc-passwd');
    expect(safeName('Ünïcode run #3')).toBe('Unicode-run-3');
    expect(safeName('***')).toBe('run');
    expect(exportFolderName('a b', 'gguf', 'best')).toBe('a-b-best-gguf');
  });

  it('summarizes the checkpoints the Export page offers', () => {
    expect(summarize([], new Map())).toEqual({ latest: null, best: null, count: 0 });
    const s = summarize(
      [30, 10, 20],
      new Map([
        [10, 1.5],
        [20, 1.2],
        [25, 0.1],
      ]),
    );
    expect(s).toEqual({ latest: { step: 30, valLoss: null }, best: { step: 20, valLoss: 1.2 }, count: 3 });
  });
});

describe('exportRun in the worker (IndexedDB, folder or zip)', () => {
  it('exports the latest or best checkpoint as a zip, or into a new subfolder of the chosen folder', async () => {
    const db = await workerDb();
    const run = runInfo('run-x', 'Greeter');
    await db.put('runs', run);
    const best = checkpointBytes(20, 'best-x');
    const latest = checkpointBytes(40, 'latest-x');
    await saveCheckpointRow(db, { runId: run.id, step: 20, valLoss: 0.7, bytes: best.bytes });
    await saveCheckpointRow(db, { runId: run.id, step: 40, valLoss: 0.9, bytes: latest.bytes });
    await db.put('runMetrics', {
      runId: run.id,
      seq: 0,
      metric: {
        kind: 'step',
        step: 20,
        loss: 0.8,
        lr: 1e-4,
        gradNorm: 1,
        tokens: 10,
        epoch: 0,
        elapsedMs: 1,
        tokensPerSec: 1,
      },
    });
    await db.put('runMetrics', {
      runId: run.id,
      seq: 1,
      metric: {
        kind: 'step',
        step: 40,
        loss: 0.5,
        lr: 1e-4,
        gradNorm: 1,
        tokens: 10,
        epoch: 0,
        elapsedMs: 1,
        tokensPerSec: 1,
      },
    });
    expect(await lossAtStep(db, run.id, 20)).toBe(0.8);
    expect(await lossAtStep(db, run.id, 39)).toBe(0.8);
    expect((await pickCheckpoint(db, run.id, 'best')).step).toBe(20);
    expect((await pickCheckpoint(db, run.id, 'latest')).step).toBe(40);

    const zipped = await exportRun({ runId: run.id, which: 'best', format: 'peft', dtype: 'f32' }, null);
    if (!zipped.ok) throw new Error(zipped.error.message);
    expect(zipped.value.files.map((f) => f.name)).toEqual([
      'Greeter-best-peft/adapter_model.safetensors',
      'Greeter-best-peft/adapter_config.json',
      'Greeter-best-peft/README.md',
    ]);
    const entries = unzipSync(zipped.value.zip!);
    expect(entries['Greeter-best-peft/adapter_model.safetensors']!.byteLength).toBe(zipped.value.files[0]!.bytes);
    const peft = await readPeftAdapter(
      new TextDecoder().decode(entries['Greeter-best-peft/adapter_config.json']),
      new MemoryByteSource(entries['Greeter-best-peft/adapter_model.safetensors']!),
    );
    expect(Array.from(peft.modules.get(MODULES[0]!.path)!.A)).toEqual(Array.from(best.A.get(MODULES[0]!.path)!));
    expect(new TextDecoder().decode(entries['Greeter-best-peft/README.md'])).toContain('Final training loss: 0.8000');

    const dir = new MemoryDir('exports');
    for (const expected of ['Greeter-peft', 'Greeter-peft-2']) {
      const written = await exportRun(
        { runId: run.id, which: 'latest', format: 'peft', dtype: 'f32' },
        dir as unknown as FileSystemDirectoryHandle,
      );
      if (!written.ok) throw new Error(written.error.message);
      expect(written.value.zip).toBeNull();
      expect(written.value.files[0]!.name).toBe(`${expected}/adapter_model.safetensors`);
      const sub = dir.dirs.get(expected)!;
      expect([...sub.files.keys()].sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors']);
      for (const f of written.value.files) expect(sub.files.get(f.name.split('/')[1]!)!.byteLength).toBe(f.bytes);
    }
  });

  it('says what to do when there is nothing to export', async () => {
    const db = await workerDb();
    await db.put('runs', runInfo('run-empty', 'Empty'));
    const none = await exportRun({ runId: 'run-empty', which: 'latest', format: 'peft', dtype: 'f32' }, null);
    expect(none).toMatchObject({
      ok: false,
      error: {
        message: expect.stringContaining('no saved checkpoint'),
        hint: expect.stringContaining('first checkpoint'),
      },
    });
    await saveCheckpointRow(db, { runId: 'run-empty', step: 5, valLoss: null, bytes: checkpointBytes(5, 'e').bytes });
    const noBest = await exportRun({ runId: 'run-empty', which: 'best', format: 'peft', dtype: 'f32' }, null);
    expect(noBest).toMatchObject({ ok: false, error: { hint: expect.stringContaining('latest') } });
    const missing = await exportRun({ runId: 'nope', which: 'latest', format: 'peft', dtype: 'f32' }, null);
    expect(missing).toMatchObject({ ok: false, error: { message: expect.stringContaining('no longer stored') } });
    // The base model is not cached here: GGUF needs its shape, merged weights its tensors.
    const gguf = await exportRun({ runId: 'run-empty', which: 'latest', format: 'gguf', dtype: 'f32' }, null);
    expect(gguf).toMatchObject({
      ok: false,
      error: {
        message: expect.stringContaining("tiny/llama is not in this browser's cache"),
        hint: expect.stringContaining('Model page'),
      },
    });
    const merged = await exportRun({ runId: 'run-empty', which: 'latest', format: 'merged', dtype: 'f32' }, null);
    expect(merged).toMatchObject({
      ok: false,
      error: {
        message: expect.stringContaining('Merged weights are made from the base model'),
        hint: expect.stringContaining('merge_and_unload'),
      },
    });
  });
});

describe('local model folders', () => {
  it('strip the folders every path shares and copy only what the model needs', () => {
    expect(stripSharedFolders(['a/b/config.json', 'a/b/model.safetensors'])).toEqual({
      folder: 'b',
      names: ['config.json', 'model.safetensors'],
    });
    expect(stripSharedFolders(['config.json', 'x/y.txt'])).toEqual({ folder: null, names: ['config.json', 'x/y.txt'] });
    const present = [
      'config.json',
      'tokenizer.json',
      'README.md',
      'model.safetensors',
      'pytorch_model.bin',
      'generation_config.json',
    ];
    expect(filesToCopy({ kind: 'safetensors', config: {}, file: 'model.safetensors' }, present)).toEqual([
      'config.json',
      'generation_config.json',
      'tokenizer.json',
      'model.safetensors',
    ]);
    expect(filesToCopy({ kind: 'gguf', file: 'm-q4_0.gguf' }, ['m-q4_0.gguf', 'tokenizer.json'])).toEqual([
      'tokenizer.json',
      'm-q4_0.gguf',
    ]);
  });
});
