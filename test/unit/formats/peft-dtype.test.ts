/** PEFT adapter weights in F16 / BF16: dtypes in the header, round-to-nearest-even, and a read-back within half precision. */
import { describe, expect, it } from 'vitest';
import { MemoryByteSource } from '../../../src/formats/byte-source.ts';
import { bf16ToF32, f16ToF32 } from '../../../src/formats/half.ts';
import { type PeftExport, peftConfigJson, peftWeights, readPeftAdapter } from '../../../src/formats/peft.ts';
import { readSafetensorsHeader } from '../../../src/formats/safetensors.ts';
import { trainConfig } from '../../../src/schema/train.ts';
import { peftFiles } from '../../../src/train/export.ts';
import { seededRng } from '../../harness/rng.ts';

function sample(): PeftExport {
  const rng = seededRng('peft dtype');
  const m = (path: string, inF: number, outF: number) => ({
    path,
    inFeatures: inF,
    outFeatures: outF,
    A: rng.f32(4 * inF, -0.5, 0.5),
    B: rng.f32(outF * 4, -0.5, 0.5),
  });
  const e: PeftExport = {
    rank: 4,
    alpha: 8,
    dropout: 0,
    rslora: false,
    targetModules: ['q_proj', 'down_proj'],
    layersToTransform: null,
    baseModel: 'tiny',
    modules: [m('model.layers.0.self_attn.q_proj', 16, 16), m('model.layers.0.mlp.down_proj', 32, 16)],
  };
  // Exact ties: halfway between two f16 (resp. bf16) neighbours; nearest-even picks the even mantissa.
  const A = e.modules[0]!.A;
  A[0] = 1 + 2 ** -11; // f16: → 1
  A[1] = 1 + 3 * 2 ** -11; // f16: → 1 + 2^-9
  A[2] = 1 + 2 ** -8; // bf16: → 1
  A[3] = 1 + 3 * 2 ** -8; // bf16: → 1 + 2^-6
  A[4] = -(1 + 3 * 2 ** -11);
  return e;
}

describe('PEFT weights in f16 / bf16', () => {
  for (const [dtype, tag, eps, decode] of [
    ['f16', 'F16', 2 ** -11, f16ToF32],
    ['bf16', 'BF16', 2 ** -8, bf16ToF32],
  ] as const) {
    it(`${dtype}: ${tag} tensors, half the bytes, values within half precision`, async () => {
      const e = sample();
      const bytes = peftWeights(e, dtype);
      const f32Bytes = peftWeights(e);
      const header = await readSafetensorsHeader(new MemoryByteSource(bytes));
      expect(header.metadata).toEqual({ format: 'pt' });
      for (const t of header.tensors) expect(t.dtype).toBe(tag);
      expect(header.byName.get('base_model.model.model.layers.0.mlp.down_proj.lora_A.weight')?.shape).toEqual([4, 32]);
      expect(header.byName.get('base_model.model.model.layers.0.mlp.down_proj.lora_B.weight')?.shape).toEqual([16, 4]);
      const data = (h: typeof header) => h.fileSize - h.dataOffset;
      expect(data(header) * 2).toBe(data(await readSafetensorsHeader(new MemoryByteSource(f32Bytes))));

      const back = await readPeftAdapter(peftConfigJson(e), new MemoryByteSource(bytes));
      for (const m of e.modules) {
        const got = back.modules.get(m.path)!;
        for (const [w, g] of [
          [m.A, got.A],
          [m.B, got.B],
        ] as const) {
          for (let i = 0; i < w.length; i++) {
            // Round to nearest: within half an ulp, i.e. 2^-(p) relative for p mantissa bits + 1.
            expect(Math.abs(g[i]! - w[i]!)).toBeLessThanOrEqual(eps * Math.abs(w[i]!) + 2 ** -24);
            // And the stored value is exactly representable (a 16-bit value widened).
            expect(decode(dtype === 'f16' ? f16Bits(g[i]!) : bf16Bits(g[i]!))).toBe(g[i]);
          }
        }
      }
      const A = back.modules.get('model.layers.0.self_attn.q_proj')!.A;
      if (dtype === 'f16') expect([A[0], A[1], A[4]]).toEqual([1, 1 + 2 ** -9, -(1 + 2 ** -9)]);
      else expect([A[2], A[3]]).toEqual([1, 1 + 2 ** -6]);
    });
  }

  it('peftFiles writes the requested dtype (f32 by default)', async () => {
    const e = sample();
    const facts = {
      baseModel: 'tiny',
      data: 'test',
      config: trainConfig(null, {}),
      steps: 1,
      finalLoss: null,
      finalValLoss: null,
    };
    const dtypeOf = async (files: { name: string; bytes: Uint8Array }[]) =>
      (
        await readSafetensorsHeader(
          new MemoryByteSource(files.find((f) => f.name === 'adapter_model.safetensors')!.bytes),
        )
      ).tensors[0]!.dtype;
    expect(await dtypeOf(peftFiles(e, facts))).toBe('F32');
    expect(await dtypeOf(peftFiles(e, facts, 'bf16'))).toBe('BF16');
    expect(peftFiles(e, facts, 'f16').map((f) => f.name)).toEqual([
      'adapter_model.safetensors',
      'adapter_config.json',
      'README.md',
    ]);
  });
});

// Bits of a value known to be a 16-bit float (exact, so truncation is fine).
function bf16Bits(x: number): number {
  const f = new Float32Array([x]);
  return new Uint32Array(f.buffer)[0]! >>> 16;
}
function f16Bits(x: number): number {
  // Search-free: encode with the exact f16 grid (x is an f16 value, so scaling by powers of two is exact).
  if (x === 0) return Object.is(x, -0) ? 0x8000 : 0;
  const sign = x < 0 ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a < 2 ** -14) return sign | Math.round(a / 2 ** -24);
  const e = Math.floor(Math.log2(a));
  return sign | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
}
