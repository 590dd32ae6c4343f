/** Uploads the float64 reference model's weights and LoRA adapters as f32 GPU weights (bypassing the file loader). */
import type { GpuRuntime } from '../../src/gpu/runtime.ts';
import type { DenseWeight } from '../../src/kernels/weights.ts';
import { LORA_TARGETS, type LoraTarget } from '../../src/model/allocations.ts';
import type { BlockWeights } from '../../src/model/block.ts';
import type { ModelDescription } from '../../src/model/config.ts';
import { MODULE_GROUP, type ModelLora, createLora } from '../../src/model/lora-state.ts';
import type { ModelWeights } from '../../src/model/weights-types.ts';
import type { RefLora, RefWeights } from '../reference/model/transformer.ts';

export function uploadRefWeights(
  rt: GpuRuntime,
  d: ModelDescription,
  weights: RefWeights,
  owner = 'test-model',
): ModelWeights {
  const f32 = (name: string) => {
    const t = weights.get(name);
    if (!t) throw new Error(`missing ${name}`);
    return rt.uploadF32(owner, name, Float32Array.from(t.data));
  };
  const dense = (name: string): DenseWeight => {
    const t = weights.get(name)!;
    return { format: 'f32', rows: t.shape[0]!, cols: t.shape[1]!, data: f32(name) };
  };
  const layers: BlockWeights[] = [];
  for (let l = 0; l < d.layers; l++) {
    const p = `model.layers.${l}`;
    const proj = Object.fromEntries(
      LORA_TARGETS.map((t) => [t, dense(`${p}.${MODULE_GROUP[t]}.${t}.weight`)]),
    ) as Record<LoraTarget, DenseWeight>;
    layers.push({
      inputNorm: f32(`${p}.input_layernorm.weight`),
      postAttnNorm: f32(`${p}.post_attention_layernorm.weight`),
      preFfnNorm: d.sandwichNorms ? f32(`${p}.pre_feedforward_layernorm.weight`) : null,
      postFfnNorm: d.sandwichNorms ? f32(`${p}.post_feedforward_layernorm.weight`) : null,
      qNorm: d.qkNorm ? f32(`${p}.self_attn.q_norm.weight`) : null,
      kNorm: d.qkNorm ? f32(`${p}.self_attn.k_norm.weight`) : null,
      proj,
      bias: d.qkvBias
        ? {
            q_proj: f32(`${p}.self_attn.q_proj.bias`),
            k_proj: f32(`${p}.self_attn.k_proj.bias`),
            v_proj: f32(`${p}.self_attn.v_proj.bias`),
          }
        : null,
    });
  }
  const embed = dense('model.embed_tokens.weight');
  return {
    desc: d,
    embed,
    layers,
    finalNorm: f32('model.norm.weight'),
    head: d.tieEmbeddings ? embed : dense('lm_head.weight'),
    owner,
  };
}

/** GPU adapters holding the same values as a reference LoRA (all layers, the given targets). */
export function uploadRefLora(
  rt: GpuRuntime,
  d: ModelDescription,
  lora: RefLora,
  rank: number,
  alpha: number,
  targets: readonly LoraTarget[],
): ModelLora {
  return createLora(
    rt,
    d,
    { rank, alpha, rslora: false, targets, layers: Array.from({ length: d.layers }, (_, i) => i) },
    ({ path }) => {
      const m = lora.modules.get(path);
      if (!m) throw new Error(`reference LoRA has no ${path}`);
      return { A: Float32Array.from(m.A.data), B: Float32Array.from(m.B.data) };
    },
    'test-lora',
  );
}
