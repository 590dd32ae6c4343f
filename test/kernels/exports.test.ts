/**
 * Export formats checked through the engine (Dawn on SwiftShader):
 *   (a) a merged model folder, loaded by the app's loader, gives the logits of the base model + the adapter;
 *   (b) a GGUF LoRA read back (q/k lora_B un-permuted) and applied gives the PEFT adapter's logits, on the safetensors
 *       base and on the base's own GGUF (whose q/k rows were permuted the same way);
 *   (c) `cli export` writes each format from a PEFT folder.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryByteSource } from '../../src/formats/byte-source.ts';
import { type GgufTensorInfo, ggufNumber, readGguf, readGgufTensor } from '../../src/formats/gguf.ts';
import { dequantizeGguf } from '../../src/formats/gguf-dequant.ts';
import { ggufLoraFile, readGgufLora } from '../../src/formats/gguf-lora.ts';
import { encodeGgufTensor } from '../../src/formats/gguf-quant.ts';
import { writeGguf } from '../../src/formats/gguf-write.ts';
import { readMlxAdapter } from '../../src/formats/mlx.ts';
import {
  type AdapterDtype,
  type PeftExport,
  peftConfigJson,
  peftWeights,
  readPeftAdapter,
} from '../../src/formats/peft.ts';
import { readSafetensorsHeader } from '../../src/formats/safetensors.ts';
import type { GpuRuntime } from '../../src/gpu/runtime.ts';
import { type ModelDescription, parseModelConfig } from '../../src/model/config.ts';
import { loadModel } from '../../src/model/loader.ts';
import { loraFromPeft } from '../../src/model/lora-peft.ts';
import { ModelEngine } from '../../src/model/model.ts';
import { NodeFolderModelSource } from '../../src/model/source-node.ts';
import { nodeFolderSink } from '../../src/cli/commands/export.ts';
import { exportMergedModel } from '../../src/train/exports.ts';
import { compareClose, expectClose } from '../harness/allclose.ts';
import { testRuntime } from '../harness/device.ts';
import { seededRng } from '../harness/rng.ts';
import { TOLERANCES } from '../harness/tolerances.ts';
import { makeTinyModel } from '../fixtures/make-models.ts';
import { randomAdapter } from '../fixtures/random-adapter.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'exports-gpu-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const T = 8;

/** Logits of the model in `dir` (any layout the loader reads), optionally with an adapter applied unmerged. */
async function logitsOf(
  rt: GpuRuntime,
  path: string,
  ids: number[],
  adapter: PeftExport | null,
  dtype: AdapterDtype = 'f32',
): Promise<{ logits: Float32Array; desc: ModelDescription }> {
  const owner = `w-${Math.random().toString(36).slice(2)}`;
  const { weights } = await loadModel(rt, await NodeFolderModelSource.open(path), { quant: 'none', owner });
  let lora = null;
  if (adapter)
    lora = loraFromPeft(
      rt,
      weights.desc,
      await readPeftAdapter(peftConfigJson(adapter), new MemoryByteSource(peftWeights(adapter, dtype))),
      `${owner}-lora`,
    );
  const engine = new ModelEngine(rt, weights, 1, T, lora, 'inference');
  try {
    return { logits: await engine.logits({ ids: Uint32Array.from(ids), B: 1, T }), desc: weights.desc };
  } finally {
    engine.destroy();
    rt.memory.destroyOwner(`${owner}-lora`);
    rt.memory.destroyOwner(owner);
  }
}

/**
 * What llama.cpp computes with `--lora`, folded into the weights: for each base tensor with a `.lora_a` / `.lora_b`
 * pair, W += (adapter.lora.alpha / r) · lora_b @ lora_a with r = lora_b ne[0], on the tensors exactly as stored in the
 * two files (no un-permuting). Returns the merged base GGUF.
 */
async function mergeLikeLlamaCpp(basePath: string, adapterBytes: Uint8Array): Promise<Uint8Array> {
  const baseSource = new MemoryByteSource(new Uint8Array(await readFile(basePath)));
  const base = await readGguf(baseSource);
  const adapterSource = new MemoryByteSource(adapterBytes);
  const adapter = await readGguf(adapterSource);
  const alpha = ggufNumber(adapter, 'adapter.lora.alpha')!;
  const values = async (src: MemoryByteSource, t: GgufTensorInfo) =>
    dequantizeGguf(
      t.type,
      await readGgufTensor(src, t),
      t.shape.reduce((x, y) => x * y, 1),
    );
  let merged = 0;
  const tensors = [];
  for (const t of base.tensors) {
    const a = adapter.byName.get(`${t.name}.lora_a`);
    const b = adapter.byName.get(`${t.name}.lora_b`);
    if (!a || !b) {
      tensors.push({ name: t.name, type: t.type, shape: t.shape, data: await readGgufTensor(baseSource, t) });
      continue;
    }
    const W = await values(baseSource, t);
    const A = await values(adapterSource, a); // ne [in, r]: r rows of `in`
    const B = await values(adapterSource, b); // ne [r, out]: out rows of r
    const [r, inF] = [a.dims[1]!, a.dims[0]!];
    expect(b.dims[0]).toBe(r);
    expect([b.dims[1], inF]).toEqual([t.dims[1], t.dims[0]]); // llama.cpp's shape check
    const scale = alpha / r;
    for (let o = 0; o < b.dims[1]!; o++) {
      for (let i = 0; i < inF; i++) {
        let acc = 0;
        for (let k = 0; k < r; k++) acc += B[o * r + k]! * A[k * inF + i]!;
        W[o * inF + i] = W[o * inF + i]! + scale * acc;
      }
    }
    merged++;
    tensors.push({ name: t.name, type: 'F32' as const, shape: t.shape, data: encodeGgufTensor('F32', W, t.shape) });
  }
  expect(merged).toBe(adapter.tensors.length / 2);
  return writeGguf({ metadata: base.metadata, tensors });
}

describe('merged model folder', () => {
  for (const [arch, sharded] of [
    ['llama', false],
    ['qwen2', true],
  ] as const) {
    it(`${arch}${sharded ? ' (sharded in and out)' : ''}: merged logits = base + adapter`, async () => {
      const rt = await testRuntime();
      const rng = seededRng(`exports merged ${arch}`);
      const m = await makeTinyModel(arch, join(root, `merged-src-${arch}`), sharded ? { sharded: true } : {});
      const d = parseModelConfig(m.config);
      const ids = Array.from({ length: T }, () => rng.int(0, d.vocab));
      const e = randomAdapter(d, rng, { rank: 4, alpha: 8, range: 0.3 });
      const out = join(root, `merged-${arch}`);
      const result = await exportMergedModel(
        await NodeFolderModelSource.open(m.dir),
        e,
        nodeFolderSink(out),
        sharded ? { shardBytes: 60_000 } : {},
      );
      const listing = (await readdir(out)).sort();
      expect(listing).toEqual(result.files.map((f) => f.name).sort());
      expect(listing).toContain('README.md');
      if (sharded) expect(listing).toContain('model.safetensors.index.json');
      else expect(listing).toContain('model.safetensors');

      const merged = await logitsOf(rt, out, ids, null);
      const base = await logitsOf(rt, m.dir, ids, null);
      const unmerged = await logitsOf(rt, m.dir, ids, e);
      const r = compareClose(merged.logits, unmerged.logits, TOLERANCES.merged_vs_adapter_f32);
      console.log(
        `[bound] merged ${arch}: max abs ${r.maxAbs.toExponential(2)}, norm-wise ${r.normRel.toExponential(2)}`,
      );
      expectClose(`${arch} merged vs base + adapter`, merged.logits, unmerged.logits, TOLERANCES.merged_vs_adapter_f32);
      expect(compareClose(merged.logits, base.logits, { atol: 1e-2, rtol: 0 }).ok).toBe(false); // the merge changed the model
    });
  }
});

describe('GGUF LoRA applied in the engine', () => {
  for (const [arch, rslora] of [
    ['llama', false],
    ['mistral', true],
    ['qwen2', false],
  ] as const) {
    it(`${arch}${rslora ? ' rsLoRA' : ''}: read back from GGUF = the PEFT adapter, also on the GGUF base`, async () => {
      const rt = await testRuntime();
      const rng = seededRng(`exports gguf ${arch}`);
      const m = await makeTinyModel(arch, join(root, `gguf-src-${arch}`), { gguf: ['F32'] });
      const d = parseModelConfig(m.config);
      const ids = Array.from({ length: T }, () => rng.int(0, d.vocab));
      const e = randomAdapter(d, rng, { rank: 4, alpha: 8, rslora, range: 0.3 });
      const peft = await logitsOf(rt, m.dir, ids, e);

      const back = await readGgufLora(new MemoryByteSource(ggufLoraFile(e, d)), d);
      const viaGguf = await logitsOf(rt, m.dir, ids, back);
      // f32 tensors round-trip exactly; only rsLoRA's alpha·√r (stored as f32) / r can differ from alpha / √r by an ulp.
      expectClose(`${arch} GGUF LoRA vs PEFT`, viaGguf.logits, peft.logits, TOLERANCES.gguf_vs_safetensors);

      // The base from its GGUF (q/k rows permuted by the converter, un-permuted by the loader) + the GGUF adapter.
      const onGgufBase = await logitsOf(rt, join(m.dir, m.ggufFiles.F32!), ids, back);
      expectClose(
        `${arch} GGUF base + GGUF LoRA vs safetensors + PEFT`,
        onGgufBase.logits,
        peft.logits,
        TOLERANCES.gguf_vs_safetensors,
      );

      // llama.cpp's semantics, without our reader: W_gguf + (alpha / r)·lora_b @ lora_a on the raw (permuted) tensors
      // of the base GGUF, written as a merged GGUF and loaded (and un-permuted) by the app's loader.
      const mergedGguf = join(m.dir, 'merged-by-llama-cpp-rule.gguf');
      await writeFile(mergedGguf, await mergeLikeLlamaCpp(join(m.dir, m.ggufFiles.F32!), ggufLoraFile(e, d)));
      const llamaCpp = await logitsOf(rt, mergedGguf, ids, null);
      expectClose(
        `${arch} GGUF base merged by llama.cpp's rule vs safetensors + PEFT`,
        llamaCpp.logits,
        peft.logits,
        TOLERANCES.merged_vs_adapter_f32,
      );

      // f16: the GGUF and PEFT exports round the same values the same way (nearest even).
      const half = await readGgufLora(new MemoryByteSource(ggufLoraFile(e, d, 'f16')), d);
      const halfGguf = await logitsOf(rt, m.dir, ids, half);
      const halfPeft = await logitsOf(rt, m.dir, ids, e, 'f16');
      expectClose(
        `${arch} f16 GGUF LoRA vs f16 PEFT`,
        halfGguf.logits,
        halfPeft.logits,
        TOLERANCES.gguf_vs_safetensors,
      );
    });
  }
});

describe('cli export', () => {
  it('writes peft (bf16), mlx, gguf and merged folders from a PEFT folder', async () => {
    const rt = await testRuntime();
    const { command } = await import('../../src/cli/commands/export.ts');
    const rng = seededRng('exports cli');
    const m = await makeTinyModel('llama', join(root, 'cli-llama'));
    const d = parseModelConfig(m.config);
    const ids = Array.from({ length: T }, () => rng.int(0, d.vocab));
    const e = randomAdapter(d, rng, {
      rank: 2,
      alpha: 4,
      targets: ['q_proj', 'k_proj', 'v_proj', 'down_proj'],
      layers: [1, 2],
      baseModel: 'tiny/llama',
    });
    const adapterDir = join(root, 'cli-adapter');
    await mkdir(adapterDir, { recursive: true });
    await writeFile(join(adapterDir, 'adapter_model.safetensors'), peftWeights(e));
    await writeFile(join(adapterDir, 'adapter_config.json'), peftConfigJson(e));
    const run = async (format: string, extra: string[] = []) => {
      const out = join(root, `cli-${format}`);
      expect(
        await command.run(['--adapter', adapterDir, '--model', m.dir, '--format', format, '--out', out, ...extra]),
      ).toBe(0);
      return out;
    };
    const sameModules = (got: PeftExport, eps: number) => {
      expect(got.modules.map((x) => x.path).sort()).toEqual(e.modules.map((x) => x.path).sort());
      for (const x of e.modules) {
        const g = got.modules.find((y) => y.path === x.path)!;
        // f16 rounding: half an ulp, relative in the normal range, 2^-25 absolute among subnormals
        const floor = eps === 0 ? 0 : 2 ** -25;
        g.A.forEach((v, i) => expect(Math.abs(v - x.A[i]!)).toBeLessThanOrEqual(eps * Math.abs(x.A[i]!) + floor));
        g.B.forEach((v, i) => expect(Math.abs(v - x.B[i]!)).toBeLessThanOrEqual(eps * Math.abs(x.B[i]!) + floor));
      }
    };

    const peftOut = await run('peft', ['--dtype', 'bf16']);
    expect((await readdir(peftOut)).sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors']);
    const peftBytes = new Uint8Array(await readFile(join(peftOut, 'adapter_model.safetensors')));
    expect(
      (await readSafetensorsHeader(new MemoryByteSource(peftBytes))).tensors.every((t) => t.dtype === 'BF16'),
    ).toBe(true);
    const peftBack = await readPeftAdapter(
      await readFile(join(peftOut, 'adapter_config.json'), 'utf8'),
      new MemoryByteSource(peftBytes),
    );
    expect(peftBack.scaling).toBe(2);

    const mlxOut = await run('mlx');
    expect((await readdir(mlxOut)).sort()).toEqual(['README.md', 'adapter_config.json', 'adapters.safetensors']);
    const mlx = await readMlxAdapter(
      await readFile(join(mlxOut, 'adapter_config.json'), 'utf8'),
      new MemoryByteSource(new Uint8Array(await readFile(join(mlxOut, 'adapters.safetensors')))),
      d.layers,
    );
    sameModules(mlx, 0);
    expect(mlx.layersToTransform).toEqual([1, 2]);
    expect(mlx.alpha / mlx.rank).toBe(2);

    const ggufOut = await run('gguf', ['--dtype', 'f16']);
    expect((await readdir(ggufOut)).sort()).toEqual(['README.md', 'adapter.gguf']);
    const gguf = await readGgufLora(
      new MemoryByteSource(new Uint8Array(await readFile(join(ggufOut, 'adapter.gguf')))),
      d,
    );
    sameModules(gguf, 2 ** -11);

    const mergedOut = await run('merged');
    expect((await readdir(mergedOut)).sort()).toEqual([
      'README.md',
      'config.json',
      'generation_config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    const merged = await logitsOf(rt, mergedOut, ids, null);
    const unmerged = await logitsOf(rt, m.dir, ids, e);
    expectClose('cli merged vs base + adapter', merged.logits, unmerged.logits, TOLERANCES.merged_vs_adapter_f32);

    // A layer set mlx-lm cannot express is refused with the reason.
    const gapped = randomAdapter(d, rng, { targets: ['q_proj'], layers: [0, 2] });
    await writeFile(join(adapterDir, 'adapter_model.safetensors'), peftWeights(gapped));
    await writeFile(join(adapterDir, 'adapter_config.json'), peftConfigJson(gapped));
    await expect(run('mlx')).rejects.toThrow(/last num_layers layers/);
  });
});
