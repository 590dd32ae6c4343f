/**
 * GPU weights back on the host, dequantized to f32: for tests of the loader, for merging an adapter into the base
 * weights, and for checks against files. Not for hot paths (one readback per array).
 */
import { dequantizeGguf } from '../formats/gguf-dequant.ts';
import { bf16ArrayToF32, f16ArrayToF32 } from '../formats/half.ts';
import type { GgmlType } from '../formats/gguf-types.ts';
import { type GgufBlockFormat, NF4_CODE, joinGgufBlocks } from '../formats/quant-blocks.ts';
import { readBuffer } from '../gpu/readback.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { type BaseWeight, DENSE_BYTES, isQuantWeight, readQuantWeight } from '../kernels/weights.ts';
import { LORA_TARGETS } from './allocations.ts';
import type { ModelWeights } from './weights-types.ts';

const GGML_OF: Record<GgufBlockFormat, GgmlType> = {
  q8_0: 'Q8_0',
  q4_0: 'Q4_0',
  q2_k: 'Q2_K',
  q3_k: 'Q3_K',
  q4_k: 'Q4_K',
  q5_k: 'Q5_K',
  q6_k: 'Q6_K',
};

/** W [rows, cols] as f32 values (exactly the values the kernels compute with). */
export async function readWeightF32(rt: GpuRuntime, w: BaseWeight): Promise<Float32Array> {
  const n = w.rows * w.cols;
  if (!isQuantWeight(w)) {
    const bytes = await readBuffer(rt.device, w.data, Math.ceil((n * DENSE_BYTES[w.format]) / 4) * 4);
    if (w.format === 'f32') return new Float32Array(bytes, 0, n);
    const halves = new Uint16Array(bytes, 0, n);
    return w.format === 'f16' ? f16ArrayToF32(halves) : bf16ArrayToF32(halves);
  }
  const arrays = await readQuantWeight(rt, w);
  if (w.format !== 'nf4') return dequantizeGguf(GGML_OF[w.format], joinGgufBlocks(w.format, arrays, n), n);
  const absmax = new Float32Array(arrays.scales.slice().buffer);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const byte = arrays.quants[i >> 1]!;
    out[i] = Math.fround(NF4_CODE[i % 2 === 0 ? byte >> 4 : byte & 15]! * absmax[Math.floor(i / 64)]!);
  }
  return out;
}

const MLP: ReadonlySet<string> = new Set(['gate_proj', 'up_proj', 'down_proj']);

export interface HostTensor {
  shape: number[];
  /** The GPU format the values came from ('f32' for norms and biases). */
  format: string;
  values: Float32Array;
}

/**
 * Every tensor of a loaded model under its HF name, as f32. Fused phi3 projections come back split (q_proj, k_proj,
 * v_proj, gate_proj, up_proj, as the loader made them); a tied head is not listed separately.
 */
export async function modelWeightsToHost(rt: GpuRuntime, weights: ModelWeights): Promise<Map<string, HostTensor>> {
  const d = weights.desc;
  const out = new Map<string, HostTensor>();
  const matrix = async (name: string, w: BaseWeight) =>
    out.set(name, { shape: [w.rows, w.cols], format: w.format, values: await readWeightF32(rt, w) });
  const vector = async (name: string, b: GPUBuffer | null, n: number) => {
    if (b) out.set(name, { shape: [n], format: 'f32', values: await rt.readF32(b, n) });
  };
  await matrix('model.embed_tokens.weight', weights.embed);
  for (const [l, layer] of weights.layers.entries()) {
    const p = `model.layers.${l}`;
    await vector(`${p}.input_layernorm.weight`, layer.inputNorm, d.hidden);
    await vector(`${p}.post_attention_layernorm.weight`, layer.postAttnNorm, d.hidden);
    await vector(`${p}.pre_feedforward_layernorm.weight`, layer.preFfnNorm, d.hidden);
    await vector(`${p}.post_feedforward_layernorm.weight`, layer.postFfnNorm, d.hidden);
    await vector(`${p}.self_attn.q_norm.weight`, layer.qNorm, d.headDim);
    await vector(`${p}.self_attn.k_norm.weight`, layer.kNorm, d.headDim);
    for (const t of LORA_TARGETS) await matrix(`${p}.${MLP.has(t) ? 'mlp' : 'self_attn'}.${t}.weight`, layer.proj[t]);
    if (layer.bias) {
      for (const t of ['q_proj', 'k_proj', 'v_proj'] as const)
        await vector(`${p}.self_attn.${t}.bias`, layer.bias[t], layer.proj[t].rows);
    }
  }
  await vector('model.norm.weight', weights.finalNorm, d.hidden);
  if (weights.head !== weights.embed) await matrix('lm_head.weight', weights.head);
  return out;
}
