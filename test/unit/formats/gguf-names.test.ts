import { describe, expect, it } from 'vitest';
import { ggufTensorMapping, ggufToHfName, hfToGgufName } from '../../../src/formats/gguf-names.ts';
import { permuteQkRowBytes, permuteQkRows, unpermuteQkRows } from '../../../src/formats/gguf-permute.ts';
import { fitLlama3RopeScaling, llama3RopeFactors } from '../../../src/formats/gguf-rope.ts';
import { defaultDims, TINY_ARCHS } from '../../fixtures/tiny-model-specs.ts';
import { tinyWeights } from '../../fixtures/tiny-model-weights.ts';
import { Rng, seededRng } from '../../harness/rng.ts';

const rowsOf = (n: number) => Float32Array.from({ length: n }, (_, i) => i);

/** llama.cpp's definition: w.reshape(n_head, 2, d/2, cols).swapaxes(1, 2).reshape(w.shape), as index arithmetic. */
function llamaCppPermute(w: Float32Array, rows: number, cols: number, heads: number): Float32Array {
  const half = rows / heads / 2;
  const out = new Float32Array(w.length);
  // out viewed as [heads, half, 2, cols] takes element [h, i, j, c] from w viewed as [heads, 2, half, cols] at [h, j, i, c]
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < half; i++)
      for (let j = 0; j < 2; j++)
        for (let c = 0; c < cols; c++)
          out[((h * half + i) * 2 + j) * cols + c] = w[((h * 2 + j) * half + i) * cols + c]!;
  return out;
}

describe('q/k row permutation', () => {
  it('matches FORMATS.md on small examples: new row h·d+2i+j = old row h·d+j·(d/2)+i', () => {
    expect(Array.from(permuteQkRows(rowsOf(8), 8, 2))).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
    expect(Array.from(permuteQkRows(rowsOf(8), 8, 1))).toEqual([0, 4, 1, 5, 2, 6, 3, 7]);
    const two = Float32Array.from([0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5]); // 4 rows of 2 columns, 1 head
    expect(Array.from(permuteQkRows(two, 4, 1))).toEqual([0, 0.5, 2, 2.5, 1, 1.5, 3, 3.5]);
  });

  it("equals llama.cpp's reshape/swapaxes definition and is undone by unpermute", () => {
    const rng = seededRng('qk permutation');
    for (const [heads, d, cols] of [
      [4, 16, 64],
      [2, 32, 8],
      [32, 64, 3],
      [3, 2, 1],
    ] as const) {
      const rows = heads * d;
      const w = rng.f32(rows * cols);
      const p = permuteQkRows(w, rows, heads);
      expect(p).toEqual(llamaCppPermute(w, rows, cols, heads));
      expect(unpermuteQkRows(p, rows, heads)).toEqual(w);
      expect(permuteQkRows(unpermuteQkRows(w, rows, heads), rows, heads)).toEqual(w);
      const bytes = new Uint8Array(w.buffer.slice(0));
      expect(new Float32Array(permuteQkRowBytes(bytes, rows, heads, false).buffer)).toEqual(p);
      expect(permuteQkRowBytes(permuteQkRowBytes(bytes, rows, heads, false), rows, heads, true)).toEqual(bytes);
    }
    expect(() => permuteQkRows(rowsOf(6), 6, 2)).toThrow(/rows per head must be an even integer/);
  });
});

describe('GGUF ↔ HF tensor names', () => {
  it('maps the llama.cpp names', () => {
    const cases: [string, string, string][] = [
      ['llama', 'token_embd.weight', 'model.embed_tokens.weight'],
      ['llama', 'output_norm.weight', 'model.norm.weight'],
      ['llama', 'output.weight', 'lm_head.weight'],
      ['llama', 'blk.3.attn_norm.weight', 'model.layers.3.input_layernorm.weight'],
      ['llama', 'blk.0.attn_q.weight', 'model.layers.0.self_attn.q_proj.weight'],
      ['qwen2', 'blk.1.attn_k.bias', 'model.layers.1.self_attn.k_proj.bias'],
      ['llama', 'blk.10.attn_output.weight', 'model.layers.10.self_attn.o_proj.weight'],
      ['llama', 'blk.0.ffn_norm.weight', 'model.layers.0.post_attention_layernorm.weight'],
      ['llama', 'blk.0.ffn_up.weight', 'model.layers.0.mlp.up_proj.weight'],
      ['qwen3', 'blk.2.attn_q_norm.weight', 'model.layers.2.self_attn.q_norm.weight'],
      ['gemma2', 'blk.0.ffn_norm.weight', 'model.layers.0.pre_feedforward_layernorm.weight'],
      ['gemma2', 'blk.0.post_attention_norm.weight', 'model.layers.0.post_attention_layernorm.weight'],
      ['gemma2', 'blk.0.post_ffw_norm.weight', 'model.layers.0.post_feedforward_layernorm.weight'],
      ['phi3', 'blk.0.attn_qkv.weight', 'model.layers.0.self_attn.qkv_proj.weight'],
      ['phi3', 'blk.0.ffn_up.weight', 'model.layers.0.mlp.gate_up_proj.weight'],
    ];
    for (const [arch, g, hf] of cases) {
      expect(ggufToHfName(g, arch), g).toBe(hf);
      expect(hfToGgufName(hf, arch), hf).toBe(g);
    }
    expect(ggufToHfName('rope_freqs.weight', 'llama')).toBeNull();
    expect(hfToGgufName('model.layers.0.self_attn.rotary_emb.inv_freq', 'llama')).toBeNull();
  });

  it('round-trips every tensor name of every fixture architecture', () => {
    for (const arch of TINY_ARCHS) {
      const ggufArch = arch === 'mistral' ? 'llama' : arch;
      for (const t of tinyWeights(arch, defaultDims(arch), 40, 'default', new Rng(1))) {
        const g = hfToGgufName(t.name, ggufArch);
        expect(g, `${arch} ${t.name}`).not.toBeNull();
        expect(ggufToHfName(g!, ggufArch)).toBe(t.name);
      }
    }
  });

  it('says what to undo: q/k permutation for llama, +1 on gemma norms', () => {
    const llama = { arch: 'llama', heads: 32, kvHeads: 8 };
    expect(ggufTensorMapping('blk.0.attn_q.weight', llama)?.unpermuteHeads).toBe(32);
    expect(ggufTensorMapping('blk.0.attn_k.weight', llama)?.unpermuteHeads).toBe(8);
    expect(ggufTensorMapping('blk.0.attn_k.bias', llama)?.unpermuteHeads).toBe(8);
    expect(ggufTensorMapping('blk.0.attn_v.weight', llama)?.unpermuteHeads).toBeNull();
    expect(ggufTensorMapping('blk.0.attn_q.weight', { ...llama, arch: 'qwen2' })?.unpermuteHeads).toBeNull();
    const gemma = { arch: 'gemma2', heads: 8, kvHeads: 4 };
    for (const name of ['blk.0.attn_norm.weight', 'blk.0.post_ffw_norm.weight', 'output_norm.weight'])
      expect(ggufTensorMapping(name, gemma)?.normShift).toBe(1);
    expect(ggufTensorMapping('blk.0.attn_q.weight', gemma)?.normShift).toBe(0);
    expect(ggufTensorMapping('output_norm.weight', llama)?.normShift).toBe(0);
    expect(ggufTensorMapping('rope_freqs.weight', llama)).toBeNull();
  });
});

describe('Llama 3 rope scaling from rope_freqs', () => {
  it("recovers Llama 3.2's parameters exactly", () => {
    const s = { factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
    const factors = llama3RopeFactors(64, 500000, s);
    expect(fitLlama3RopeScaling(factors, 64, 500000)).toEqual({ rope_type: 'llama3', ...s });
  });

  it('finds parameters reproducing the divisors when few frequencies are in the smooth band', () => {
    for (const s of [
      { factor: 8, low_freq_factor: 1, high_freq_factor: 8, original_max_position_embeddings: 256 },
      { factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
      { factor: 16, low_freq_factor: 2, high_freq_factor: 3, original_max_position_embeddings: 1000 },
    ]) {
      const factors = llama3RopeFactors(16, 500000, s);
      const fitted = fitLlama3RopeScaling(factors, 16, 500000);
      expect(fitted).not.toBeNull();
      const again = llama3RopeFactors(16, 500000, fitted!);
      for (let i = 0; i < factors.length; i++) expect(again[i]! / factors[i]!).toBeCloseTo(1, 4);
    }
  });

  it('returns null for no scaling and for divisors llama3 cannot produce', () => {
    expect(fitLlama3RopeScaling(new Float32Array(8).fill(1), 16, 10000)).toBeNull();
    expect(fitLlama3RopeScaling(Float32Array.from([1, 5, 1, 5, 1, 5, 1, 5]), 16, 10000)).toBeNull();
  });
});
