/**
 * Bringing an adapter back: a PEFT folder trained elsewhere (the scale-out's `out/`, or any PEFT LoRA adapter of a
 * supported model) becomes a training checkpoint of this app — the LoRA weights with zero AdamW moments at step 0,
 * its settings in the run state — so the app treats it like a run it trained: chat and compare it, export it to the
 * other formats, or start a new run from it. No GPU is needed; the adapter is checked against the model when it is
 * loaded (loraFromPeft) or exported (the format writers).
 */
import type { ByteSource } from '../../formats/byte-source.ts';
import { type PeftAdapter, readPeftAdapter } from '../../formats/peft.ts';
import { writeSafetensors } from '../../formats/safetensors-write.ts';
import { LORA_TARGETS, type LoraTarget } from '../../schema/model.ts';
import { type TrainConfig, trainConfig } from '../../schema/train.ts';
import type { AdapterTensors } from '../adapter.ts';
import type { AdapterSettings, RunState } from '../checkpoint.ts';

/** PEFT's fused Phi-3 modules and the app's targets they hold. */
const FUSED: Record<string, LoraTarget[]> = {
  qkv_proj: ['q_proj', 'k_proj', 'v_proj'],
  gate_up_proj: ['gate_proj', 'up_proj'],
};

/** A read PEFT adapter as the exporters' host tensors (target modules from the config, else from the paths). */
export function adapterTensorsFromPeft(adapter: PeftAdapter): AdapterTensors {
  const c = adapter.config;
  const modules = [...adapter.modules.values()];
  const targets =
    Array.isArray(c.target_modules) && c.target_modules.length > 0
      ? c.target_modules
      : [...new Set(modules.map((m) => m.path.slice(m.path.lastIndexOf('.') + 1)))];
  const layers =
    c.layers_to_transform == null
      ? null
      : Array.isArray(c.layers_to_transform)
        ? c.layers_to_transform
        : [c.layers_to_transform];
  return {
    rank: adapter.rank,
    alpha: c.lora_alpha,
    dropout: c.lora_dropout,
    rslora: c.use_rslora,
    targetModules: targets,
    layersToTransform: layers,
    baseModel: c.base_model_name_or_path ?? '',
    modules,
  };
}

/** The app's target names of module names (Phi-3's fused ones split); refuses modules it cannot train. */
export function appTargets(names: readonly string[]): LoraTarget[] {
  const out = new Set<LoraTarget>();
  for (const n of names) {
    if (FUSED[n]) for (const t of FUSED[n]) out.add(t);
    else if ((LORA_TARGETS as readonly string[]).includes(n)) out.add(n as LoraTarget);
    else
      throw new Error(
        `The adapter has LoRA weights on ${n}, which this app does not train (it adapts ${LORA_TARGETS.join(', ')}).`,
      );
  }
  return LORA_TARGETS.filter((t) => out.has(t));
}

/** The layers an adapter's modules are on (from their paths `…layers.N.…`). */
function moduleLayers(e: AdapterTensors): number[] {
  return [...new Set(e.modules.map((m) => Number(/(?:^|\.)layers\.(\d+)\./.exec(m.path)?.[1] ?? -1)))].sort(
    (a, b) => a - b,
  );
}

export interface ImportedAdapter {
  /** A checkpoint (src/train/checkpoint.ts) holding the adapter at step 0. */
  bytes: Uint8Array<ArrayBuffer>;
  adapter: AdapterTensors;
  /** A run config whose LoRA settings are the adapter's (the rest: defaults). */
  config: TrainConfig;
}

/**
 * A PEFT adapter (adapter_config.json text + adapter_model.safetensors bytes) as a checkpoint. `modelLayers`: the
 * base model's layer count when known, to tell an adapter on every layer from one on some.
 */
export async function peftAsCheckpoint(
  configText: string,
  weights: ByteSource,
  opts: { baseModel: string; modelLayers: number | null; info?: RunState['info'] },
): Promise<ImportedAdapter> {
  const adapter = adapterTensorsFromPeft(await readPeftAdapter(configText, weights));
  const layers = moduleLayers(adapter);
  if (layers.includes(-1))
    throw new Error('The adapter has a module whose path names no layer (model.layers.N.…); it cannot be used here.');
  const allLayers = opts.modelLayers !== null && layers.length === opts.modelLayers && layers.every((l, i) => l === i);
  const targets = appTargets(adapter.modules.map((m) => m.path.slice(m.path.lastIndexOf('.') + 1)));
  const config = trainConfig(null, {
    lora: {
      rank: adapter.rank,
      alpha: adapter.alpha,
      rslora: adapter.rslora,
      dropout: Math.min(adapter.dropout, 0.9),
      targets,
      layers: allLayers ? 'all' : layers,
    },
  });
  const settings: AdapterSettings = {
    rank: adapter.rank,
    alpha: adapter.alpha,
    rslora: adapter.rslora,
    dropout: adapter.dropout,
    // the modules' own names (qkv_proj for a fused Phi-3 adapter), as the PEFT writer and reader name them
    targets: [...new Set(adapter.modules.map((m) => m.path.slice(m.path.lastIndexOf('.') + 1)))],
    layers: allLayers ? null : layers,
    baseModel: adapter.baseModel || opts.baseModel,
    fused: null,
  };
  const tensors = adapter.modules.flatMap((m) =>
    (
      [
        ['lora_A', [adapter.rank, m.inFeatures], m.A],
        ['lora_B', [m.outFeatures, adapter.rank], m.B],
      ] as const
    ).flatMap(([name, shape, data]) =>
      ['', '.m', '.v'].map((suffix) => ({
        name: `${m.path}.${name}${suffix}`,
        dtype: 'F32' as const,
        shape: [...shape],
        data: suffix === '' ? data : new Float32Array(data.length),
      })),
    ),
  );
  const state: RunState = { step: 0, epoch: 0, cursor: 0, config, info: opts.info ?? {}, adapter: settings };
  return {
    bytes: writeSafetensors(tensors, { format: 'lora-studio-checkpoint', run: JSON.stringify(state) }),
    adapter: { ...adapter, baseModel: settings.baseModel },
    config,
  };
}
