/**
 * Non-finite values (issue #12): the GPU scan against its CPU reference (bit patterns, no float arithmetic) on
 * ragged f32 / f16 / bf16 arrays, split into several bound ranges; the loader refusing a checkpoint with one NaN or
 * Inf weight (safetensors F32 / F16, quantized on load, GGUF Q8_0 scales) with the tensor named; and a training step
 * whose loss turns NaN stopping the run before the update, with no checkpoint written after the last good one.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { f32ToF16 } from '../../src/formats/half.ts';
import { writeBuffer } from '../../src/gpu/readback.ts';
import { scanNonFinite, scanNonFiniteBits, type ScanType } from '../../src/kernels/nonfinite.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { loadModel } from '../../src/model/loader.ts';
import { createLora, peftInit } from '../../src/model/lora-state.ts';
import { ModelEngine } from '../../src/model/model.ts';
import { NodeFolderModelSource } from '../../src/model/source-node.ts';
import { trainConfig } from '../../src/schema/train.ts';
import { runTraining } from '../../src/train/run.ts';
import { LoraTrainer, NonFiniteTrainingError } from '../../src/train/trainer.ts';
import { makeTinyModel, type TinyModel } from '../fixtures/make-models.ts';
import { testRuntime } from '../harness/device.ts';
import { uploadRefWeights } from '../harness/model-weights.ts';
import { seededRng } from '../harness/rng.ts';
import { randomWeights } from '../reference/model/random.ts';
import { TINY_CONFIGS } from '../reference/model/tiny-configs.ts';

/** Random bit patterns of `type`, with NaN / ±Inf / huge values sprinkled in (or none). */
function randomBits(
  rng: ReturnType<typeof seededRng>,
  type: ScanType,
  n: number,
  bad: number,
): Uint32Array | Uint16Array {
  const bits = type === 'f32' ? new Uint32Array(n) : new Uint16Array(n);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < n; i++) {
    f32[0] = rng.normal() * 10 ** rng.int(-8, 9);
    bits[i] =
      type === 'f32' ? u32[0]! : type === 'bf16' ? u32[0]! >>> 16 : f32ToF16(Math.max(-6e4, Math.min(6e4, f32[0]!)));
  }
  const specials: Record<ScanType, number[]> = {
    f32: [0x7fc00000, 0x7f800000, 0xff800000, 0x7f800001, 0x5f800000 /* 2^64 */, 0xd3800000 /* -2^40 */],
    bf16: [0x7fc0, 0x7f80, 0xff80, 0x5f80, 0x5380],
    f16: [0x7e00, 0x7c00, 0xfc00, 0x7c01],
  };
  for (let k = 0; k < bad; k++) bits[rng.int(0, n)] = specials[type][rng.int(0, specials[type].length)]!;
  return bits;
}

describe('GPU non-finite scan', () => {
  it('matches the CPU reference on ragged f32 / f16 / bf16 arrays, whole and split into ranges', async () => {
    const rt = await testRuntime();
    const rng = seededRng('nonfinite scan');
    const cases: { type: ScanType; n: number; bad: number }[] = [];
    for (const type of ['f32', 'f16', 'bf16'] as const)
      for (const n of [1, 2, 7, 255, 1000, 4099, 70_001]) cases.push({ type, n, bad: rng.int(0, 3) * rng.int(0, 4) });
    const arrays = cases.map((c) => randomBits(rng, c.type, c.n, c.bad));
    const buffers = arrays.map((bits, i) => {
      const b = rt.memory.create('test-scan', `a${i}`, Math.ceil(bits.byteLength / 4) * 4 + 256).buffer;
      // Poison the bytes past the array: the scan must not read them.
      writeBuffer(rt.device, b, new Uint32Array(b.size / 4).fill(0x7fc00000));
      writeBuffer(rt.device, b, bits);
      return b;
    });
    const requests = cases.map((c, i) => ({
      label: `${c.type}[${c.n}]`,
      buffer: buffers[i]!,
      type: c.type,
      count: c.n,
    }));
    for (const maxRange of [undefined, 1024]) {
      const got = await scanNonFinite(rt, requests, maxRange);
      for (const [i, c] of cases.entries()) {
        const want = scanNonFiniteBits(arrays[i]!, c.type);
        // An odd f16 / bf16 count leaves a pad half in the last word; writeBuffer zero-pads it (finite).
        expect(got[i]!, `${requests[i]!.label} (range ${maxRange})`).toEqual({ label: requests[i]!.label, ...want });
      }
    }
    rt.memory.destroyOwner('test-scan');
  });
});

describe('the loader refuses non-finite weights', () => {
  let root: string;
  let f32: TinyModel;
  let f16: TinyModel;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'nonfinite-'));
    f32 = await makeTinyModel('llama', join(root, 'f32'), { seed: 8, gguf: ['Q8_0'] });
    f16 = await makeTinyModel('qwen2', join(root, 'f16'), { seed: 9, dtype: 'F16' });
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  /** Writes `bits` over element `index` of tensor `name` in model.safetensors. */
  async function poison(m: TinyModel, name: string, index: number, bytes: Uint8Array): Promise<() => Promise<void>> {
    const path = join(m.dir, 'model.safetensors');
    const original = new Uint8Array(await readFile(path));
    const n = Number(new DataView(original.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(original.subarray(8, 8 + n))) as Record<
      string,
      { data_offsets: [number, number] }
    >;
    const out = original.slice();
    out.set(bytes, 8 + n + header[name]!.data_offsets[0] + index * bytes.byteLength);
    await writeFile(path, out);
    return () => writeFile(path, original);
  }

  it.each([
    ['F32 NaN, quant none', 'f32', 'none', 'model.layers.1.mlp.down_proj.weight', 'nan'],
    ['F32 Inf, quantized to nf4 on load', 'f32', 'nf4', 'model.layers.0.self_attn.q_proj.weight', 'inf'],
    ['F32 1e30, quantized to q8_0 on load', 'f32', 'q8_0', 'model.layers.0.mlp.up_proj.weight', 'huge'],
    ['F16 Inf in a norm', 'f16', 'none', 'model.layers.1.input_layernorm.weight', 'inf'],
  ] as const)('%s: refused, naming the tensor and the file', async (_, which, quant, tensor, kind) => {
    const rt = await testRuntime();
    const m = which === 'f32' ? f32 : f16;
    const value = kind === 'nan' ? Number.NaN : kind === 'inf' ? Infinity : 1e30;
    const bytes =
      m.dtype === 'F16'
        ? new Uint8Array(Uint16Array.of(f32ToF16(value)).buffer)
        : new Uint8Array(Float32Array.of(value).buffer);
    const restore = await poison(m, tensor, 5, bytes);
    try {
      await expect(loadModel(rt, await NodeFolderModelSource.open(m.dir), { quant, owner: 'nf' })).rejects.toThrow(
        new RegExp(`model\\.safetensors: tensor ${tensor.replace(/\./g, '\\.')} holds 1 value\\(s\\) that are NaN`),
      );
      expect(rt.memory.stats().byOwner.nf?.liveBytes ?? 0).toBe(0);
    } finally {
      await restore();
    }
    // The same folder loads once restored.
    const { weights } = await loadModel(rt, await NodeFolderModelSource.open(m.dir), { quant, owner: 'nf' });
    expect(weights.layers.length).toBe(m.config.num_hidden_layers);
    rt.memory.destroyOwner('nf');
  });

  it('a GGUF Q8_0 block whose f16 scale is Inf is refused', async () => {
    const rt = await testRuntime();
    const file = join(f32.dir, f32.ggufFiles.Q8_0!);
    const bytes = new Uint8Array(await readFile(file));
    const { readGguf } = await import('../../src/formats/gguf.ts');
    const { MemoryByteSource } = await import('../../src/formats/byte-source.ts');
    const parsed = await readGguf(new MemoryByteSource(bytes, 'x.gguf'));
    const t = parsed.tensors.find((x) => x.type === 'Q8_0')!;
    const bad = bytes.slice();
    new DataView(bad.buffer).setUint16(t.begin + 34, 0x7c00, true); // block 1's scale d
    const dir = join(root, 'gguf');
    await rm(dir, { recursive: true, force: true });
    await (await import('node:fs/promises')).mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'm.gguf'), bad);
    await expect(
      loadModel(rt, await NodeFolderModelSource.open(join(dir, 'm.gguf')), { quant: 'q8_0', owner: 'nf' }),
    ).rejects.toThrow(/m\.gguf: tensor .* holds 1 value\(s\) that are NaN, ±Inf/);
    rt.memory.destroyOwner('nf');
  });
});

describe('training stops on a non-finite loss', () => {
  it('before the update, keeping the last checkpoint written as the newest', async () => {
    const rt = await testRuntime();
    const rng = seededRng('nonfinite training');
    const d = parseModelConfig(TINY_CONFIGS.llama!);
    const gw = uploadRefWeights(rt, d, randomWeights(d, rng));
    const config = trainConfig(null, {
      lora: { rank: 2, alpha: 4, dropout: 0 },
      microBatch: 2,
      steps: 4,
      saveEvery: 1,
    });
    const lora = createLora(rt, d, { ...config.lora, layers: [0, 1] }, peftInit(5));
    const T = 6;
    const engine = new ModelEngine(rt, gw, 2, T, lora, 'train');
    const trainer = new LoraTrainer(rt, engine, lora, config, 4);
    const train = Array.from({ length: 4 }, () => {
      const ids = Array.from({ length: T }, () => rng.int(0, d.vocab));
      return { ids, mask: ids.map((_, t) => (t >= 2 ? 1 : 0)) };
    });
    const saved: number[] = [];
    const target = lora.modules[0]!.params.A;
    let before: Float32Array | null = null;
    const run = runTraining({
      config,
      trainer,
      engine,
      train,
      valid: [],
      T,
      onMetric: () => undefined,
      afterStep: async (step) => {
        saved.push(step); // what the session checkpoints at this point
        if (step === 2) {
          // Something overflows: one adapter value becomes NaN before step 3.
          const values = await rt.readF32(target);
          values[0] = Number.NaN;
          writeBuffer(rt.device, target, values);
          before = await rt.readF32(lora.modules[1]!.params.B);
        }
        return true;
      },
    });
    await expect(run).rejects.toThrow(NonFiniteTrainingError);
    await expect(run).rejects.toThrow(
      /Training stopped at step 3: the training loss is NaN \(the update was not applied\)/,
    );
    expect(saved).toEqual([1, 2]);
    // The update of step 3 did not run: another adapter's values are as they were after step 2.
    expect(Array.from(await rt.readF32(lora.modules[1]!.params.B))).toEqual(Array.from(before!));
    trainer.destroy();
    engine.destroy();
    rt.memory.destroyOwner('lora');
    rt.memory.destroyOwner(gw.owner);
  });
});
