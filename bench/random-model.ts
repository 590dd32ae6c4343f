/**
 * Random weights for a model description, straight on the GPU (benchmarks need shapes, not trained values), with
 * the base in f32, f16 (every matrix) or NF4 (projections NF4, quantized on the GPU; embeddings and head f16, as
 * bitsandbytes QLoRA keeps them in 16 bits).
 */
import { f32ArrayToF16 } from '../src/formats/half.ts';
import type { GpuRuntime } from '../src/gpu/runtime.ts';
import { quantizeToNewWeight } from '../src/kernels/quantize.ts';
import type { BaseWeight } from '../src/kernels/weights.ts';
import { LORA_TARGETS, type LoraTarget } from '../src/model/allocations.ts';
import type { BlockWeights } from '../src/model/block.ts';
import type { ModelDescription } from '../src/model/config.ts';
import { MODULE_GROUP } from '../src/model/lora-state.ts';
import { expectedTensors } from '../src/model/tensors.ts';
import type { ModelWeights } from '../src/model/weights-types.ts';

export type BenchBase = 'f32' | 'f16' | 'nf4';

export async function randomModelWeights(
  rt: GpuRuntime,
  d: ModelDescription,
  owner: string,
  base: BenchBase = 'f32',
): Promise<ModelWeights> {
  const buffers = new Map<string, { buffer: GPUBuffer; shape: number[] }>();
  const matrices = new Map<string, BaseWeight>();
  const rec = rt.recorder('random weights');
  const f32Sources: GPUBuffer[] = [];
  for (const t of expectedTensors(d)) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const scale = t.kind === 'norm' ? 0 : t.kind === 'embedding' ? 1 : 1 / Math.sqrt(t.shape[1] ?? 1);
    for (let i = 0; i < n; i++) data[i] = t.kind === 'norm' ? (d.normPlusOne ? 0 : 1) : scale * (Math.random() * 2 - 1);
    if (t.shape.length !== 2 || base === 'f32' || t.kind === 'norm') {
      const buffer = rt.uploadF32(owner, t.name, data);
      buffers.set(t.name, { buffer, shape: t.shape });
      if (t.shape.length === 2)
        matrices.set(t.name, { format: 'f32', rows: t.shape[0]!, cols: t.shape[1]!, data: buffer });
      continue;
    }
    const [rows, cols] = [t.shape[0]!, t.shape[1]!];
    const projection = t.name.endsWith('_proj.weight');
    if (base === 'nf4' && projection && cols % 64 === 0) {
      const src = rt.uploadF32(`${owner}/f32-sources`, t.name, data);
      f32Sources.push(src);
      matrices.set(
        t.name,
        await quantizeToNewWeight(rt, rec, { src, srcFormat: 'f32', format: 'nf4', rows, cols, owner, label: t.name }),
      );
      continue;
    }
    const buffer = rt.memory.upload(owner, t.name, f32ArrayToF16(data)).buffer;
    matrices.set(t.name, { format: 'f16', rows, cols, data: buffer });
  }
  await rec.submit();
  rt.memory.destroyOwner(`${owner}/f32-sources`);
  const get = (name: string) => buffers.get(name)!.buffer;
  const dense = (name: string): BaseWeight => matrices.get(name)!;
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
        BaseWeight
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
