/** The trained adapter as a PEFT folder: adapter_model.safetensors, adapter_config.json and a README.md model card. */
import { type AdapterDtype, peftConfigJson, peftWeights } from '../formats/peft.ts';
import { type FusedLayout, fusePhi3Adapter } from '../formats/phi3-fuse.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import type { ModelLora } from '../model/lora-state.ts';
import type { TrainConfig } from '../schema/train.ts';
import { type AdapterTensors, adapterFromLora } from './adapter.ts';
import { codeSpan, mdText, pyString, yamlLine } from './card-text.ts';

export interface ExportedFile {
  name: string;
  bytes: Uint8Array;
}

export interface CardFacts {
  baseModel: string;
  data: string;
  config: TrainConfig;
  steps: number;
  finalLoss: number | null;
  finalValLoss: number | null;
}

/**
 * The PEFT folder of an adapter (from the GPU with adapterFromLora, or from a checkpoint with adapterFromCheckpoint).
 * `fused`: phi3's layout (ModelLora.fused, or fusedLayout(desc)): the q/k/v and gate/up adapters are then written as
 * PEFT's fused qkv_proj / gate_up_proj modules, exactly (src/formats/phi3-fuse.ts). Without it a phi3 adapter would
 * be written under q_proj / … names, which PEFT on Phi3ForCausalLM ignores.
 */
export function peftFiles(
  e: AdapterTensors,
  facts: CardFacts,
  dtype: AdapterDtype = 'f32',
  fused: FusedLayout | null = null,
): ExportedFile[] {
  if (fused) e = fusePhi3Adapter(e, fused);
  const enc = new TextEncoder();
  return [
    { name: 'adapter_model.safetensors', bytes: peftWeights(e, dtype) },
    { name: 'adapter_config.json', bytes: enc.encode(peftConfigJson(e)) },
    modelCardFile(e, facts),
  ];
}

/** The card's closing sentence for a PEFT folder: the Python line that loads it. */
export function peftUsage(baseModel: string): string {
  return `Load it with ${codeSpan(`PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(${pyString(baseModel || '<base model>')}), "<this folder>")`)}.`;
}

/** How a format's model card names its library and says how to load the folder (PEFT's by default). */
export interface CardUsage {
  /** `library_name` in the card's front matter. */
  library: string;
  /** The closing sentence: how to load the files. */
  usage: string;
}

/** README.md: the model card of an adapter folder (settings, data, losses, and how to load it). */
export function modelCardFile(e: AdapterTensors, facts: CardFacts, how?: CardUsage): ExportedFile {
  const layers =
    e.layersToTransform ??
    [...new Set(e.modules.map((m) => Number(/layers\.(\d+)\./.exec(m.path)?.[1] ?? -1)))].sort((a, b) => a - b);
  const fusedNote = e.targetModules.some((t) => t === 'qkv_proj' || t === 'gate_up_proj')
    ? `| as written (Phi-3) | r ${e.rank}, lora_alpha ${e.alpha}: the q/k/v and gate/up adapters stacked block-diagonally into qkv_proj / gate_up_proj (zero-padded to one rank), same scaling |\n`
    : '';
  return {
    name: 'README.md',
    bytes: new TextEncoder().encode(modelCard(facts, e.targetModules, layers, how, fusedNote)),
  };
}

/** The PEFT folder of the live adapters (phi3's fused into qkv_proj / gate_up_proj). */
export async function exportPeft(
  rt: GpuRuntime,
  lora: ModelLora,
  facts: CardFacts,
  dtype: AdapterDtype = 'f32',
): Promise<ExportedFile[]> {
  return peftFiles(
    await adapterFromLora(rt, lora, facts.config.lora.dropout, facts.baseModel),
    facts,
    dtype,
    lora.fused,
  );
}

function modelCard(f: CardFacts, targets: string[], layers: number[], how?: CardUsage, extraRows = ''): string {
  const c = f.config;
  const fmt = (x: number | null) => (x === null || Number.isNaN(x) ? '—' : x.toFixed(4));
  return `---
${yamlLine('base_model', f.baseModel)}library_name: ${how?.library ?? 'peft'}
tags: [lora, webgpu]
---

# LoRA adapter for ${mdText(f.baseModel) || 'its base model'}

Trained in the browser engine of LoRA Studio (WebGPU).

| setting | value |
| --- | --- |
| data | ${mdText(f.data)} |
| rank / alpha / dropout | ${c.lora.rank} / ${c.lora.alpha} / ${c.lora.dropout}${c.lora.rslora ? ' (rsLoRA)' : ''} |
| target modules | ${mdText(targets.join(', '))} |
| layers | ${layers.join(', ')} |
${extraRows}| base precision | ${c.base} |
| optimizer | AdamW, lr ${c.optim.lr}, betas (${c.optim.beta1}, ${c.optim.beta2}), weight decay ${c.optim.weightDecay}, ${c.optim.schedule} schedule, ${c.optim.warmupSteps} warm-up steps, max grad norm ${c.optim.maxGradNorm} |
| batch | ${c.microBatch} × ${c.gradAccum} accumulation |
| max length | ${c.maxLength} |
| steps | ${f.steps} |
| seed | ${c.seed} |

Final training loss: ${fmt(f.finalLoss)}. Final validation loss: ${fmt(f.finalValLoss)}.

${how?.usage ?? peftUsage(f.baseModel)}
`;
}
