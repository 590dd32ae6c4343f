/**
 * A PEFT adapter (read by src/formats/peft.ts) as GPU LoRA state for a model, checked against its shapes.
 * Phi-3: PEFT names the fused modules (`self_attn.qkv_proj`, `mlp.gate_up_proj`); each is split exactly into rank-r
 * adapters on its parts sharing A (src/formats/phi3-fuse.ts), since the engine holds q/k/v and gate/up separately.
 * Split paths (`self_attn.q_proj` …, what the app's checkpoints hold) are accepted for phi3 as well.
 */
import type { PeftAdapter, PeftModule } from '../formats/peft.ts';
import { fusedLayout, isFusedPath, splitFusedModule } from '../formats/phi3-fuse.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { LORA_TARGETS, type LoraTarget } from './allocations.ts';
import type { ModelDescription } from './config.ts';
import { type ModelLora, createLora } from './lora-state.ts';

const PATH = /^model\.layers\.(\d+)\.(self_attn|mlp)\.([a-z_]+)$/;

/** The adapter's modules in the engine's layout: phi3's fused modules split into their parts. */
function engineModules(d: ModelDescription, adapter: PeftAdapter): Map<string, PeftModule> {
  const layout = fusedLayout(d);
  const out = new Map<string, PeftModule>();
  for (const [path, m] of adapter.modules) {
    if (isFusedPath(path) && !layout) {
      throw new Error(
        `The adapter has weights for ${path}, a fused projection of Phi-3, but this model (${d.arch}) has separate projections: was it trained on another base model?`,
      );
    }
    for (const part of layout && isFusedPath(path) ? splitFusedModule(m, adapter.rank, layout) : [m]) {
      if (out.has(part.path))
        throw new Error(
          `The adapter has weights for ${part.path} both on its own and inside ${path}; it cannot be applied.`,
        );
      out.set(part.path, part);
    }
  }
  return out;
}

export function loraFromPeft(rt: GpuRuntime, d: ModelDescription, adapter: PeftAdapter, owner = 'lora'): ModelLora {
  const modules = engineModules(d, adapter);
  const layers = new Set<number>();
  const targets = new Set<LoraTarget>();
  for (const path of modules.keys()) {
    const m = PATH.exec(path);
    if (!m || !(LORA_TARGETS as readonly string[]).includes(m[3]!)) {
      const supported = d.fused
        ? 'qkv_proj, o_proj, gate_up_proj, down_proj (or their parts)'
        : LORA_TARGETS.join(', ');
      throw new Error(
        `The adapter has weights for ${path}, which this app cannot apply (supported: ${supported} in model.layers.N).`,
      );
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
      const m = modules.get(path);
      if (!m) throw new Error(`The adapter adapts ${[...targets].join(', ')} but has no weights for ${path}.`);
      if (m.inFeatures !== K || m.outFeatures !== M) {
        throw new Error(
          `${path}: the adapter is [${m.outFeatures} × ${m.inFeatures}] but the model's layer is [${M} × ${K}] — was it trained on another base model?`,
        );
      }
      return { A: m.A, B: m.B };
    },
    owner,
  );
}
