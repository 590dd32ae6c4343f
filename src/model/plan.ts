/** The memory plan: `modelAllocations` summed by category, with the peak over the train and generate phases. */
import {
  type Allocation,
  type AllocationCategory,
  type AllocationSettings,
  LORA_TARGETS,
  modelAllocations,
} from './allocations.ts';
import type { ModelDescription } from './config.ts';
import type { QuantChoice } from '../schema/model.ts';

export type { QuantChoice };

export interface PlanRequest {
  quant: QuantChoice;
  seq: number;
  rank: number;
  batch?: number;
  checkpointing?: boolean;
  targets?: AllocationSettings['targets'];
  /** LoRA on the top N layers only (default: all). */
  topLayers?: number;
  /** KV cache for sample generation; defaults to the training sequence length. */
  generateTokens?: number;
  /** The device's maxStorageBufferBindingSize, when known. */
  maxBindingBytes?: number;
  /** How each tensor is stored, when the checkpoint is open (`checkpointStoredTypes`): GGUF types are counted as such. */
  storedTypes?: AllocationSettings['storedTypes'];
}

export interface MemoryPlan {
  total_bytes: number;
  by_category: Record<AllocationCategory, number>;
  phase_bytes: { train: number; generate: number };
  settings: AllocationSettings;
}

/** How the checkpoint stores its weights, from config.json's torch_dtype (bf16 when it does not say). */
export function storedDtype(d: ModelDescription): AllocationSettings['stored'] {
  const t = (d.torchDtype ?? 'bfloat16').toLowerCase();
  return t.includes('float32') ? 'f32' : t === 'float16' ? 'f16' : 'bf16';
}

export function settingsFor(d: ModelDescription, r: PlanRequest): AllocationSettings {
  const top = Math.min(d.layers, r.topLayers ?? d.layers);
  return {
    stored: storedDtype(d),
    quant: r.quant,
    rank: r.rank,
    targets: r.targets ?? LORA_TARGETS,
    loraLayers: Array.from({ length: top }, (_, i) => d.layers - top + i),
    seq: r.seq,
    batch: r.batch ?? 1,
    checkpointing: r.checkpointing ?? false,
    generateTokens: r.generateTokens ?? r.seq,
    ...(r.maxBindingBytes ? { maxBindingBytes: r.maxBindingBytes } : {}),
    ...(r.storedTypes ? { storedTypes: r.storedTypes } : {}),
  };
}

export function summarize(allocations: Allocation[], settings: AllocationSettings): MemoryPlan {
  const by: Record<AllocationCategory, number> = {
    weights: 0,
    lora: 0,
    optimizer: 0,
    activations: 0,
    kv_cache: 0,
    scratch: 0,
  };
  const phase = { always: 0, train: 0, generate: 0 };
  for (const a of allocations) {
    by[a.category] += a.bytes;
    phase[a.phase] += a.bytes;
  }
  const train = phase.always + phase.train;
  const generate = phase.always + phase.generate;
  return { total_bytes: Math.max(train, generate), by_category: by, phase_bytes: { train, generate }, settings };
}

export function planMemory(d: ModelDescription, r: PlanRequest): MemoryPlan {
  const settings = settingsFor(d, r);
  return summarize(modelAllocations(d, settings), settings);
}
