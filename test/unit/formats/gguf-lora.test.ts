/**
 * llama.cpp LoRA GGUF: header keys, tensor names, ggml dims (ne) order, q/k lora_B row permutation for llama/mistral
 * (checked against FORMATS.md's row formula, independently of gguf-permute.ts), rsLoRA alpha, and the reader undoing
 * it all.
 */
import { describe, expect, it } from 'vitest';
import { MemoryByteSource } from '../../../src/formats/byte-source.ts';
import { readGguf, readGgufTensor } from '../../../src/formats/gguf.ts';
import { dequantizeGguf } from '../../../src/formats/gguf-dequant.ts';
import { GgufLoraError, ggufArchName, ggufLoraFile, readGgufLora } from '../../../src/formats/gguf-lora.ts';
import { ggufPlain } from '../../../src/formats/gguf.ts';
import { type ModelDescription, parseModelConfig } from '../../../src/model/config.ts';
import { randomAdapter } from '../../fixtures/random-adapter.ts';
import { seededRng } from '../../harness/rng.ts';

function descOf(arch: string, extra: Record<string, unknown> = {}): ModelDescription {
  return parseModelConfig({
    model_type: arch,
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 3,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: 50,
    ...extra,
  });
}

/** FORMATS.md: new row h·d + 2i + j = old row h·d + j·(d/2) + i. */
function expectPermutedRows(stored: Float32Array, B: Float32Array, rows: number, heads: number, R: number): void {
  const d = rows / heads;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < d / 2; i++) {
      for (let j = 0; j < 2; j++) {
        const newRow = h * d + 2 * i + j;
        const oldRow = h * d + j * (d / 2) + i;
        expect(Array.from(stored.subarray(newRow * R, (newRow + 1) * R))).toEqual(
          Array.from(B.subarray(oldRow * R, (oldRow + 1) * R)),
        );
      }
    }
  }
}

describe('GGUF LoRA adapters', () => {
  it('write the header keys llama.cpp checks, with the base model architecture and alpha', async () => {
    for (const [arch, want] of [
      ['llama', 'llama'],
      ['mistral', 'llama'],
      ['qwen2', 'qwen2'],
      ['qwen3', 'qwen3'],
      ['gemma2', 'gemma2'],
    ] as const) {
      const desc = descOf(arch, arch === 'qwen3' || arch === 'gemma2' ? { head_dim: 8 } : {});
      expect(ggufArchName(desc.arch)).toBe(want);
      const e = randomAdapter(desc, seededRng(`gguf header ${arch}`), {
        rank: 4,
        alpha: 16,
        targets: ['q_proj'],
        layers: [1],
      });
      const file = await readGguf(new MemoryByteSource(ggufLoraFile(e, desc)), 'adapter.gguf');
      expect(file.version).toBe(3);
      expect(file.alignment).toBe(32);
      expect(file.metadata.get('general.architecture')).toEqual({ type: 'string', value: want });
      expect(file.metadata.get('general.type')).toEqual({ type: 'string', value: 'adapter' });
      expect(file.metadata.get('adapter.type')).toEqual({ type: 'string', value: 'lora' });
      expect(file.metadata.get('adapter.lora.alpha')).toEqual({ type: 'f32', value: 16 });
      expect(ggufPlain(file.metadata.get('general.base_model.0.name')!)).toBe('tiny/model');
    }
  });

  it('name tensors <base>.lora_a / .lora_b with ne [in, r] and [r, out], in F32 or F16', async () => {
    const desc = descOf('qwen2');
    const e = randomAdapter(desc, seededRng('gguf names'), { rank: 3 });
    for (const [dtype, type] of [
      ['f32', 'F32'],
      ['f16', 'F16'],
    ] as const) {
      const file = await readGguf(new MemoryByteSource(ggufLoraFile(e, desc, dtype)));
      expect(file.tensors).toHaveLength(2 * e.modules.length);
      const names = new Set(file.tensors.map((t) => t.name));
      for (const layer of [0, 1, 2]) {
        for (const base of ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down']) {
          expect(names.has(`blk.${layer}.${base}.weight.lora_a`)).toBe(true);
          expect(names.has(`blk.${layer}.${base}.weight.lora_b`)).toBe(true);
        }
      }
      const a = file.byName.get('blk.2.ffn_down.weight.lora_a')!;
      const b = file.byName.get('blk.2.ffn_down.weight.lora_b')!;
      expect(a.dims).toEqual([48, 3]); // ne[0] = in (the base weight's ne[0]), ne[1] = r
      expect(b.dims).toEqual([3, 32]); // ne[0] = r (llama.cpp reads the rank here), ne[1] = out
      expect(a.type).toBe(type);
      expect(b.type).toBe(type);
      for (const t of file.tensors) expect((t.begin - file.dataOffset) % 32).toBe(0);
    }
    expect(
      (await readGguf(new MemoryByteSource(ggufLoraFile(e, desc, 'f16')))).metadata.get('general.file_type'),
    ).toEqual({ type: 'u32', value: 1 });
  });

  it('permute lora_B rows of q (n_heads) and k (n_kv_heads) for llama and mistral only', async () => {
    for (const arch of ['llama', 'mistral', 'qwen2', 'qwen3', 'gemma2'] as const) {
      const desc = descOf(arch, arch === 'qwen3' || arch === 'gemma2' ? { head_dim: 8 } : {});
      const R = 2;
      const e = randomAdapter(desc, seededRng(`gguf permute ${arch}`), {
        rank: R,
        targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
        layers: [0],
      });
      const source = new MemoryByteSource(ggufLoraFile(e, desc));
      const file = await readGguf(source);
      const values = async (name: string) => {
        const t = file.byName.get(name)!;
        return dequantizeGguf(t.type, await readGgufTensor(source, t), t.shape[0]! * t.shape[1]!);
      };
      const permuted = arch === 'llama' || arch === 'mistral';
      for (const [proj, base, heads] of [
        ['q_proj', 'attn_q', desc.heads],
        ['k_proj', 'attn_k', desc.kvHeads],
        ['v_proj', 'attn_v', null],
        ['o_proj', 'attn_output', null],
      ] as const) {
        const m = e.modules.find((x) => x.path.endsWith(proj))!;
        expect(Array.from(await values(`blk.0.${base}.weight.lora_a`))).toEqual(Array.from(m.A)); // A is never permuted
        const b = await values(`blk.0.${base}.weight.lora_b`);
        if (permuted && heads !== null) {
          expectPermutedRows(b, m.B, m.outFeatures, heads, R);
          expect(Array.from(b)).not.toEqual(Array.from(m.B));
        } else expect(Array.from(b)).toEqual(Array.from(m.B));
      }
    }
  });

  it('read back to exactly the adapter that was written (permutation undone), f16 within half precision', async () => {
    for (const arch of ['llama', 'qwen2'] as const) {
      const desc = descOf(arch);
      const e = randomAdapter(desc, seededRng(`gguf read ${arch}`), { rank: 4, alpha: 8, layers: [1, 2] });
      const back = await readGgufLora(new MemoryByteSource(ggufLoraFile(e, desc)), desc);
      expect(back.rank).toBe(4);
      expect(back.alpha).toBe(8);
      expect(back.rslora).toBe(false);
      expect(back.layersToTransform).toEqual([1, 2]);
      expect(back.targetModules).toEqual([...e.targetModules].sort());
      expect(back.modules).toHaveLength(e.modules.length);
      for (const m of e.modules) {
        const got = back.modules.find((x) => x.path === m.path)!;
        expect([got.inFeatures, got.outFeatures]).toEqual([m.inFeatures, m.outFeatures]);
        expect(Array.from(got.A)).toEqual(Array.from(m.A));
        expect(Array.from(got.B)).toEqual(Array.from(m.B));
      }
      const half = await readGgufLora(new MemoryByteSource(ggufLoraFile(e, desc, 'f16')), desc);
      for (const m of e.modules) {
        const got = half.modules.find((x) => x.path === m.path)!;
        got.B.forEach((v, i) =>
          expect(Math.abs(v - m.B[i]!)).toBeLessThanOrEqual(2 ** -11 * Math.abs(m.B[i]!) + 2 ** -25),
        );
      }
    }
  });

  it("write rsLoRA as alpha·√r, so llama.cpp's alpha / r is alpha / √r", async () => {
    const desc = descOf('llama');
    const e = randomAdapter(desc, seededRng('gguf rslora'), {
      rank: 16,
      alpha: 8,
      rslora: true,
      targets: ['v_proj'],
      layers: [0],
    });
    const file = await readGguf(new MemoryByteSource(ggufLoraFile(e, desc)));
    expect(file.metadata.get('adapter.lora.alpha')).toEqual({ type: 'f32', value: 32 });
    const back = await readGgufLora(new MemoryByteSource(ggufLoraFile(e, desc)), desc);
    expect(back.alpha / back.rank).toBe(8 / Math.sqrt(16));
  });

  it('refuse phi3 parts not fused, bf16, modules without a llama.cpp tensor, and a mismatched architecture when reading', async () => {
    const phi3 = descOf('phi3');
    const llama = descOf('llama');
    const e = randomAdapter(llama, seededRng('gguf refuse'), { targets: ['q_proj'], layers: [0] });
    expect(() => ggufLoraFile(e, phi3)).toThrow(GgufLoraError);
    expect(() => ggufLoraFile(e, phi3)).toThrow(/fuse the q\/k\/v and gate\/up adapters first/);
    expect(() => ggufLoraFile(e, llama, 'bf16' as 'f16')).toThrow(/f32 or f16/);
    expect(() => ggufLoraFile({ ...e, modules: [{ ...e.modules[0]!, path: 'model.embed_tokens' }] }, llama)).toThrow(
      /no llama.cpp tensor/,
    );
    await expect(readGgufLora(new MemoryByteSource(ggufLoraFile(e, llama)), descOf('qwen2'))).rejects.toThrow(
      /adapter is for llama, but the model is qwen2/,
    );
  });
});
