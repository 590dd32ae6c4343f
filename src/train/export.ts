/** The trained adapter as a PEFT folder: adapter_model.safetensors, adapter_config.json and a README.md model card. */
import { peftConfigJson, peftWeights } from '../formats/peft.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import type { ModelLora } from '../model/lora-state.ts';
import type { TrainConfig } from '../schema/train.ts';

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

export async function exportPeft(rt: GpuRuntime, lora: ModelLora, facts: CardFacts): Promise<ExportedFile[]> {
  const s = lora.settings;
  const modules = [];
  for (const m of lora.modules) {
    modules.push({ path: m.path, inFeatures: m.K, outFeatures: m.M, A: await rt.readF32(m.params.A, s.rank * m.K), B: await rt.readF32(m.params.B, m.M * s.rank) });
  }
  const layers = [...new Set(lora.modules.map((m) => m.layer))].sort((a, b) => a - b);
  const e = {
    rank: s.rank,
    alpha: s.alpha,
    dropout: facts.config.lora.dropout,
    rslora: s.rslora,
    targetModules: [...s.targets],
    layersToTransform: layers.length === lora.perLayer.length ? null : layers,
    baseModel: facts.baseModel,
    modules,
  };
  const enc = new TextEncoder();
  return [
    { name: 'adapter_model.safetensors', bytes: peftWeights(e) },
    { name: 'adapter_config.json', bytes: enc.encode(peftConfigJson(e)) },
    { name: 'README.md', bytes: enc.encode(modelCard(facts, e.targetModules, layers)) },
  ];
}

function modelCard(f: CardFacts, targets: string[], layers: number[]): string {
  const c = f.config;
  const fmt = (x: number | null) => (x === null || Number.isNaN(x) ? '—' : x.toFixed(4));
  return `---
base_model: ${f.baseModel}
library_name: peft
tags: [lora, webgpu]
---

# LoRA adapter for ${f.baseModel}

Trained in the browser engine of LoRA Studio (WebGPU).

| setting | value |
| --- | --- |
| data | ${f.data} |
| rank / alpha / dropout | ${c.lora.rank} / ${c.lora.alpha} / ${c.lora.dropout}${c.lora.rslora ? ' (rsLoRA)' : ''} |
| target modules | ${targets.join(', ')} |
| layers | ${layers.join(', ')} |
| base precision | ${c.base} |
| optimizer | AdamW, lr ${c.optim.lr}, betas (${c.optim.beta1}, ${c.optim.beta2}), weight decay ${c.optim.weightDecay}, ${c.optim.schedule} schedule, ${c.optim.warmupSteps} warm-up steps, max grad norm ${c.optim.maxGradNorm} |
| batch | ${c.microBatch} × ${c.gradAccum} accumulation |
| max length | ${c.maxLength} |
| steps | ${f.steps} |
| seed | ${c.seed} |

Final training loss: ${fmt(f.finalLoss)}. Final validation loss: ${fmt(f.finalValLoss)}.

Load it with \`PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained("${f.baseModel}"), "<this folder>")\`.
`;
}
