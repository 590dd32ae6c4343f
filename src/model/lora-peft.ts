/** A PEFT adapter (read by src/formats/peft.ts) as GPU LoRA state for a model, checked against its shapes. */
import type { PeftAdapter } from '../formats/peft.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { LORA_TARGETS, type LoraTarget } from './allocations.ts';
import type { ModelDescription } from './config.ts';
import { type ModelLora, createLora } from './lora-state.ts';

const PATH = /^model\.layers\.(\d+)\.(self_attn|mlp)\.([a-z_]+)$/;

export function loraFromPeft(rt: GpuRuntime, d: ModelDescription, adapter: PeftAdapter, owner = 'lora'): ModelLora {
  const layers = new Set<number>();
  const targets = new Set<LoraTarget>();
  for (const path of adapter.modules.keys()) {
    const m = PATH.exec(path);
    if (!m || !(LORA_TARGETS as readonly string[]).includes(m[3]!)) {
      throw new Error(`The adapter has weights for ${path}, which this app cannot apply (supported: ${LORA_TARGETS.join(', ')} in model.layers.N).`);
    }
    layers.add(Number(m[1]));
    targets.add(m[3] as LoraTarget);
  }
  const settings = {
    rank: adapter.rank,
    alpha: adapter.config.lora_alpha,
    rslora: adapter.config.use_rslora,
    targets: LORA_TARGETS.filter((t) => targets.has(t)),
    layers: [...layers].sort((a, b) => a - b),
  };
  return createLora(
    rt,
    d,
    settings,
    ({ path, K, M }) => {
      const m = adapter.modules.get(path);
      if (!m) throw new Error(`The adapter adapts ${[...targets].join(', ')} but has no weights for ${path}.`);
      if (m.inFeatures !== K || m.outFeatures !== M) {
        throw new Error(`${path}: the adapter is [${m.outFeatures} × ${m.inFeatures}] but the model's layer is [${M} × ${K}] — was it trained on another base model?`);
      }
      return { A: m.A, B: m.B };
    },
    owner,
  );
}
