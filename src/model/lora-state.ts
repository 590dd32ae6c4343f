/**
 * The trainable LoRA adapters of a model on the GPU: A [R, K] and B [M, R] per adapted projection, their gradients,
 * and the module paths PEFT uses for them. Initialized as PEFT does (A kaiming-uniform, B = 0) or from given values.
 * Phi-3's fused qkv_proj / gate_up_proj are split at load, so it gets separate adapters on q/k/v and gate/up like
 * any model (paths `…self_attn.q_proj` etc.); `fused` keeps the layout for exporters (src/formats/phi3-fuse.ts).
 */
import { type FusedLayout, fusedLayout } from '../formats/phi3-fuse.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { SeededRng } from '../util/rng.ts';
import type { LoraTarget } from './allocations.ts';
import { blockDims, projectionShape } from './block-buffers.ts';
import type { BlockLora, LoraParams } from './block.ts';
import type { ModelDescription } from './config.ts';

export interface LoraSettings {
  rank: number;
  alpha: number;
  /** scaling alpha/√r instead of alpha/r */
  rslora: boolean;
  targets: readonly LoraTarget[];
  /** Layer indices that carry adapters. */
  layers: readonly number[];
}

export interface LoraModule {
  layer: number;
  target: LoraTarget;
  /** PEFT module path, e.g. "model.layers.3.self_attn.q_proj" (for phi3 the split part's, not qkv_proj). */
  path: string;
  K: number;
  M: number;
  params: LoraParams;
}

export interface ModelLora {
  settings: LoraSettings;
  modules: LoraModule[];
  /** Per layer, the adapters a block uses (empty for layers without adapters). */
  perLayer: BlockLora[];
  owner: string;
  /**
   * phi3: the rows of q/k/v in qkv_proj and of gate/up in gate_up_proj, which PEFT files name as fused modules
   * (fusePhi3Adapter writes them, loraFromPeft splits them); null for every other family.
   */
  fused: FusedLayout | null;
}

export const MODULE_GROUP: Record<LoraTarget, string> = {
  q_proj: 'self_attn',
  k_proj: 'self_attn',
  v_proj: 'self_attn',
  o_proj: 'self_attn',
  gate_proj: 'mlp',
  up_proj: 'mlp',
  down_proj: 'mlp',
};

export function loraScaling(s: Pick<LoraSettings, 'rank' | 'alpha' | 'rslora'>): number {
  return s.rslora ? s.alpha / Math.sqrt(s.rank) : s.alpha / s.rank;
}

/** Initial values for one module: A and B as f32 arrays. */
export type LoraInit = (m: { layer: number; target: LoraTarget; path: string; K: number; M: number; R: number }) => {
  A: Float32Array;
  B: Float32Array;
};

/** PEFT's default init: A ~ U(−1/√K, 1/√K) (kaiming-uniform with a = √5), B = 0, from a seed. */
export function peftInit(seed: number): LoraInit {
  const rng = new SeededRng(seed);
  return ({ K, M, R }) => {
    const bound = 1 / Math.sqrt(K);
    const A = new Float32Array(R * K);
    for (let i = 0; i < A.length; i++) A[i] = rng.uniform(-bound, bound);
    return { A, B: new Float32Array(M * R) };
  };
}

export function createLora(
  rt: GpuRuntime,
  d: ModelDescription,
  settings: LoraSettings,
  init: LoraInit,
  owner = 'lora',
): ModelLora {
  const dims = blockDims(d, 1, 1);
  const scale = loraScaling(settings);
  const perLayer: BlockLora[] = Array.from({ length: d.layers }, () => ({}));
  const modules: LoraModule[] = [];
  let moduleId = 0;
  for (const layer of settings.layers) {
    if (layer < 0 || layer >= d.layers)
      throw new RangeError(`LoRA layer ${layer} is outside the model's ${d.layers} layers`);
    for (const target of settings.targets) {
      const { K, M } = projectionShape(dims, target);
      const R = settings.rank;
      const path = `model.layers.${layer}.${MODULE_GROUP[target]}.${target}`;
      const v = init({ layer, target, path, K, M, R });
      if (v.A.length !== R * K || v.B.length !== M * R)
        throw new Error(`${path}: LoRA A must be [${R}, ${K}] and B [${M}, ${R}]`);
      const params: LoraParams = {
        A: rt.memory.upload(owner, `${path}.lora_A`, v.A).buffer,
        B: rt.memory.upload(owner, `${path}.lora_B`, v.B).buffer,
        dA: rt.memory.create(owner, `${path}.lora_A.grad`, R * K * 4).buffer,
        dB: rt.memory.create(owner, `${path}.lora_B.grad`, M * R * 4).buffer,
        R,
        scale,
        moduleId: moduleId++,
      };
      perLayer[layer]![target] = params;
      modules.push({ layer, target, path, K, M, params });
    }
  }
  return { settings, modules, perLayer, owner, fused: fusedLayout(d) };
}
