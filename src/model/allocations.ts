/**
 * Every GPU buffer a model needs for training and generation, as a list of named allocations, computed by the
 * code that allocates them: the loader's format choice (host-tensors.ts), the LoRA modules (lora-state.ts's
 * shapes), the engine's buffer specs (engine-buffers.ts) and the KV cache (kv-cache.ts). The memory plan is this
 * list summed without allocating.
 */
import { blockArrayBytes } from '../formats/quant-blocks.ts';
import { kvCacheBytes } from '../kernels/kv-cache.ts';
import type { ConvertFormat, WeightFormat } from '../kernels/weights.ts';
import { LORA_TARGETS, type LoraTarget, type QuantChoice } from '../schema/model.ts';
import type { StoredType } from './checkpoint.ts';
import { blockDims, projectionShape } from './block-buffers.ts';
import type { ModelDescription } from './config.ts';
import { decodeScratchFloats, engineSpecs, specBytes } from './engine-buffers.ts';
import { chooseFormat } from './host-tensors.ts';
import { expectedTensors } from './tensors.ts';

export type { ConvertFormat, WeightFormat };
export type AllocationCategory = 'weights' | 'lora' | 'optimizer' | 'activations' | 'kv_cache' | 'scratch';

export interface Allocation {
  category: AllocationCategory;
  name: string;
  bytes: number;
  /** Training buffers and generation buffers are never alive together (generation runs between steps). */
  phase: 'always' | 'train' | 'generate';
}

export { LORA_TARGETS, type LoraTarget };

export interface AllocationSettings {
  /** How the checkpoint stores its weights (config.json's torch_dtype). */
  stored: 'f32' | 'f16' | 'bf16';
  /**
   * How each matrix is stored, by HF name, when the checkpoint is open (a GGUF file mixes types: Q4_K_M holds
   * Q4_K and Q6_K tensors, which stay in their own format on the GPU); tensors not listed are `stored`.
   */
  storedTypes?: Readonly<Record<string, StoredType>>;
  /** Quantization of the projections (the loader's `quant`). */
  quant: QuantChoice;
  /** Embedding / head format override (the loader's `embeddings`). */
  embeddings?: ConvertFormat;
  rank: number;
  targets: readonly LoraTarget[];
  /** Layers that carry LoRA adapters (indices). */
  loraLayers: readonly number[];
  seq: number;
  batch: number;
  checkpointing: boolean;
  /** Tokens of generation context to reserve a KV cache for (0: no generation). */
  generateTokens: number;
  /** The device's maxStorageBufferBindingSize (default 128 MiB, WebGPU's guaranteed minimum). */
  maxBindingBytes?: number;
}

/** Bytes of a [rows, cols] weight in a given format, as the loader lays it out on the GPU. */
export function weightBytes(format: WeightFormat, rows: number, cols: number): number {
  if (format === 'f32') return 4 * rows * cols;
  if (format === 'f16' || format === 'bf16') return 2 * rows * cols;
  const b = blockArrayBytes(format, rows, cols);
  return b.scales + b.quants;
}

export function modelAllocations(d: ModelDescription, s: AllocationSettings): Allocation[] {
  const out: Allocation[] = [];
  const add = (category: AllocationCategory, name: string, bytes: number, phase: Allocation['phase'] = 'always') => {
    if (bytes > 0) out.push({ category, name, bytes: Math.ceil(bytes), phase });
  };

  // Weights, in the formats the loader picks.
  for (const t of expectedTensors(d)) {
    if (t.kind === 'norm' || t.kind === 'bias') {
      add('weights', t.name, 4 * t.shape.reduce((a, b) => a * b, 1));
      continue;
    }
    const [rows, cols] = t.shape as [number, number];
    const role = t.kind === 'projection' ? 'projection' : t.kind;
    const { format } = chooseFormat(role, s.storedTypes?.[t.name] ?? s.stored, cols, s.quant, s.embeddings);
    add('weights', t.name, weightBytes(format, rows, cols));
  }

  // LoRA A, B and their gradients (createLora); AdamW's two moments of each.
  const dims = blockDims(d, 1, 1);
  for (const l of s.loraLayers) {
    for (const target of s.targets) {
      const { K, M } = projectionShape(dims, target);
      const params = s.rank * (K + M) * 4;
      add('lora', `model.layers.${l}.${target}.lora`, 2 * params);
      add('optimizer', `model.layers.${l}.${target}.adam`, 2 * params);
    }
  }

  // The engine's buffers for one micro-batch.
  const ranks = Object.fromEntries(s.targets.map((t) => [t, s.rank]));
  const maxBindingBytes = s.maxBindingBytes ?? 128 * 2 ** 20;
  const e = engineSpecs(d, {
    maxB: s.batch,
    maxT: s.seq,
    ranks,
    mode: s.checkpointing ? 'checkpointed' : 'train',
    maxBindingBytes,
  });
  add('activations', 'block inputs and final norm', specBytes(e.activations), 'train');
  add(
    'activations',
    s.checkpointing ? 'recomputed block' : 'saved block activations',
    e.saved.reduce((a, set) => a + specBytes(set), 0),
    'train',
  );
  add('scratch', 'block backward scratch', specBytes(e.blockScratch), 'train');
  add('scratch', 'engine scratch (gradients, logits chunk, ids)', specBytes(e.engineScratch), 'train');

  // Generation (sample outputs at evaluation, "Try it"), with the training engine released: an inference engine for
  // one sequence, its KV cache and the decode scratch.
  if (s.generateTokens > 0) {
    add(
      'kv_cache',
      'kv cache',
      kvCacheBytes({ layers: d.layers, maxTokens: s.generateTokens, Hkv: d.kvHeads, D: d.headDim }),
      'generate',
    );
    add('scratch', 'decode partials', 4 * decodeScratchFloats(d, s.generateTokens), 'generate');
    const g = engineSpecs(d, { maxB: 1, maxT: s.generateTokens, ranks, mode: 'inference', maxBindingBytes });
    add(
      'scratch',
      'inference engine',
      specBytes(g.activations) + specBytes(g.saved[0]!) + specBytes(g.blockScratch) + specBytes(g.engineScratch),
      'generate',
    );
  }
  return out;
}
