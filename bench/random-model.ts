/** Random f32 weights for a model description, straight on the GPU (benchmarks need shapes, not trained values). */
import type { GpuRuntime } from '../src/gpu/runtime.ts';
import type { DenseWeight } from '../src/kernels/weights.ts';
import { LORA_TARGETS, type LoraTarget } from '../src/model/allocations.ts';
import type { BlockWeights } from '../src/model/block.ts';
import type { ModelDescription } from '../src/model/config.ts';
import { MODULE_GROUP } from '../src/model/lora-state.ts';
import { expectedTensors } from '../src/model/tensors.ts';
import type { ModelWeights } from '../src/model/weights-types.ts';

export function randomModelWeights(rt: GpuRuntime, d: ModelDescription, owner: string): ModelWeights {
  const buffers = new Map<string, { buffer: GPUBuffer; shape: number[] }>();
  for (const t of expectedTensors(d)) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const scale = t.kind === 'norm' ? 0 : t.kind === 'embedding' ? 1 : 1 / Math.sqrt(t.shape[1] ?? 1);
    for (let i = 0; i < n; i++) data[i] = t.kind === 'norm' ? (d.normPlusOne ? 0 : 1) : scale * (Math.random() * 2 - 1);
    buffers.set(t.name, { buffer: rt.uploadF32(owner, t.name, data), shape: t.shape });
  }
  const get = (name: string) => buffers.get(name)!.buffer;
  const dense = (name: string): DenseWeight => {
    const b = buffers.get(name)!;
    return { format: 'f32', rows: b.shape[0]!, cols: b.shape[1]!, data: b.buffer };
  };
  const layers: BlockWeights[] = Array.from({ length: d.layers }, (_, l) => {
    const p = `model.layers.${l}`;
    const opt = (name: string) => (buffers.has(name) ? get(name) : null);
    return {
      inputNorm: get(`${p}.input_layernorm.weight`),
      postAttnNorm: get(`${p}.post_attention_layernorm.weight`),
      preFfnNorm: opt(`${p}.pre_feedforward_layernorm.weight`),
      postFfnNorm: opt(`${p}.post_feedforward_layernorm.weight`),
      qNorm: opt(`${p}.self_attn.q_norm.weight`),
      kNorm: opt(`${p}.self_attn.k_norm.weight`),
      proj: Object.fromEntries(LORA_TARGETS.map((t) => [t, dense(`${p}.${MODULE_GROUP[t]}.${t}.weight`)])) as Record<
        LoraTarget,
        DenseWeight
      >,
      bias: d.qkvBias
        ? {
            q_proj: get(`${p}.self_attn.q_proj.bias`),
            k_proj: get(`${p}.self_attn.k_proj.bias`),
            v_proj: get(`${p}.self_attn.v_proj.bias`),
          }
        : null,
    };
  });
  const embed = dense('model.embed_tokens.weight');
  return {
    desc: d,
    embed,
    layers,
    finalNorm: get('model.norm.weight'),
    head: d.tieEmbeddings ? embed : dense('lm_head.weight'),
    owner,
  };
}
