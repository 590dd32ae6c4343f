/**
 * The writers of the adapter formats and of merged weights (src/train/export-formats.ts lists the formats):
 *   peft    adapter_model.safetensors + adapter_config.json           (PeftModel.from_pretrained, vLLM, TGI)
 *   mlx     adapters.safetensors + adapter_config.json                (mlx_lm.generate --adapter-path)
 *   gguf    adapter.gguf                                              (llama.cpp / Ollama / LM Studio: --lora)
 *   merged  the base model with the adapter folded into its stored weights, as a safetensors model folder
 * Each adapter folder also gets a README.md model card. Browser-safe.
 */
import { type GgufLoraDtype, ggufArchName, ggufLoraFile } from '../formats/gguf-lora.ts';
import { mlxAdapterFiles } from '../formats/mlx.ts';
import { type AdapterDtype, peftConfigJson, peftWeights } from '../formats/peft.ts';
import { fusedLayout, fusePhi3Adapter } from '../formats/phi3-fuse.ts';
import { blockDims, projectionShape as blockProjectionShape } from '../model/block-buffers.ts';
import type { ModelDescription } from '../model/config.ts';
import { LORA_TARGETS, type LoraTarget } from '../schema/model.ts';
import type { ModelSource } from '../model/source.ts';
import type { AdapterTensors } from './adapter.ts';
import { codeSpan, mdText, pyString, shellWord, yamlLine } from './card-text.ts';
import { type CardFacts, type CardUsage, type ExportedFile, modelCardFile, peftFiles, peftUsage } from './export.ts';
import type { AdapterExportContext, AdapterFormatWriter, ModelFormatWriter } from './export-writer.ts';
import {
  adapterScaling,
  type FileSink,
  mergeAdapter,
  MergeError,
  type MergeOptions,
  type MergeResult,
} from './merge.ts';

export type { AdapterDtype, AdapterExportContext, CardFacts, ExportedFile, FileSink, MergeOptions, MergeResult };

/** The file name of the GGUF adapter. */
export const GGUF_LORA_FILE = 'adapter.gguf';

function layersOf(e: AdapterTensors): number[] {
  return (
    e.layersToTransform ??
    [...new Set(e.modules.map((m) => Number(/layers\.(\d+)\./.exec(m.path)?.[1] ?? -1)))].sort((a, b) => a - b)
  );
}

/** A card for an adapter whose training run is unknown: its settings and how to load it. */
function conversionCard(e: AdapterTensors, how: CardUsage): ExportedFile {
  const text = `---
${yamlLine('base_model', e.baseModel)}library_name: ${how.library}
tags: [lora, webgpu]
---

# LoRA adapter for ${mdText(e.baseModel) || 'its base model'}

Converted by LoRA Studio.

| setting | value |
| --- | --- |
| rank / alpha / dropout | ${e.rank} / ${e.alpha} / ${e.dropout}${e.rslora ? ' (rsLoRA)' : ''} |
| scaling | ${adapterScaling(e)} |
| target modules | ${mdText(e.targetModules.join(', '))} |
| layers | ${layersOf(e).join(', ')} |

${how.usage}
`;
  return { name: 'README.md', bytes: new TextEncoder().encode(text) };
}

function card(e: AdapterTensors, facts: CardFacts | null, how?: CardUsage): ExportedFile {
  if (facts) return modelCardFile(e, facts, how);
  return conversionCard(
    e,
    how ?? {
      library: 'peft',
      usage: peftUsage(e.baseModel),
    },
  );
}

/** [out, in] of a projection of `desc` (the engine's shapes, src/model/block-buffers.ts), or null for a module this app does not train. */
function projectionShape(desc: ModelDescription, target: string): [number, number] | null {
  const dims = blockDims(desc, 1, 1);
  if ((LORA_TARGETS as readonly string[]).includes(target)) {
    const { K, M } = blockProjectionShape(dims, target as LoraTarget);
    return [M, K];
  }
  // phi3: PEFT's fused modules (a PEFT folder being converted), besides the engine's split parts.
  if (desc.fused && target === 'qkv_proj') return [dims.q + 2 * dims.kv, dims.C];
  if (desc.fused && target === 'gate_up_proj') return [2 * dims.I, dims.C];
  return null;
}

const MODULE = /^model\.layers\.(\d+)\.(self_attn|mlp)\.([a-z_]+)$/;

/** Throws when the adapter's modules are not projections of `desc` with its shapes (trained on another base model?). */
export function checkAdapterFitsModel(e: AdapterTensors, desc: ModelDescription): void {
  if (e.modules.length === 0) throw new Error('The adapter has no LoRA modules to export.');
  for (const m of e.modules) {
    const match = MODULE.exec(m.path);
    const shape = match ? projectionShape(desc, match[3]!) : null;
    if (!match || !shape) {
      const names = desc.fused
        ? 'qkv_proj (or q/k/v_proj), o_proj, gate_up_proj (or gate/up_proj), down_proj'
        : 'q/k/v/o_proj, gate/up/down_proj';
      throw new Error(
        `The adapter has weights for ${m.path}, which is not one of the projections this app exports (${names} in model.layers.N).`,
      );
    }
    const layer = Number(match[1]);
    if (layer >= desc.layers)
      throw new Error(
        `The adapter has weights for layer ${layer}, but the model has ${desc.layers} layers: was it trained on another base model?`,
      );
    if (shape[0] !== m.outFeatures || shape[1] !== m.inFeatures) {
      throw new Error(
        `${m.path}: the adapter is [${m.outFeatures} × ${m.inFeatures}] but the model's projection is [${shape[0]} × ${shape[1]}]: was it trained on another base model?`,
      );
    }
    if (m.A.length !== e.rank * m.inFeatures || m.B.length !== m.outFeatures * e.rank)
      throw new Error(`${m.path}: A or B does not hold rank ${e.rank} values.`);
  }
}

/**
 * Checks the adapter against the model and, for Phi-3, returns it fused as PEFT holds it (q/k/v and gate/up in
 * qkv_proj / gate_up_proj, exactly) — PEFT and GGUF LoRA (llama.cpp's attn_qkv / ffn_up) write that; a format that
 * cannot (`fuse` false) refuses a Phi-3 adapter.
 */
function checkedAdapter(
  label: string,
  e: AdapterTensors,
  desc: ModelDescription | null,
  fuse: boolean,
): AdapterTensors {
  if (!desc) throw new Error(`${label} export needs the shape of the base model.`);
  checkAdapterFitsModel(e, desc);
  const layout = fusedLayout(desc);
  if (!layout) return e;
  if (!fuse)
    throw new Error(
      `${label} export of a Phi-3 adapter is not supported: Phi-3 keeps q/k/v and gate/up in fused projections, ` +
        'which this exporter does not write for that format. Export PEFT instead (it holds the fused qkv_proj / gate_up_proj adapters).',
    );
  return fusePhi3Adapter(e, layout);
}

export const PEFT_WRITER: AdapterFormatWriter = {
  kind: 'adapter',
  files(e, ctx) {
    // Without the model (not cached), nothing is checked; a Phi-3 checkpoint records its fused layout.
    const adapter = ctx.desc
      ? checkedAdapter('PEFT', e, ctx.desc, true)
      : ctx.fused
        ? fusePhi3Adapter(e, ctx.fused)
        : e;
    if (ctx.facts) return peftFiles(adapter, ctx.facts, ctx.dtype);
    return [
      { name: 'adapter_model.safetensors', bytes: peftWeights(adapter, ctx.dtype) },
      { name: 'adapter_config.json', bytes: new TextEncoder().encode(peftConfigJson(adapter)) },
      card(adapter, null),
    ];
  },
};

export const MLX_WRITER: AdapterFormatWriter = {
  kind: 'adapter',
  files(e, ctx) {
    const desc = ctx.desc;
    checkedAdapter('MLX', e, desc, false);
    return [
      ...mlxAdapterFiles(e, desc!.layers, ctx.dtype),
      card(e, ctx.facts, {
        library: 'mlx',
        usage: `Load it with ${codeSpan(`mlx_lm.generate --model ${e.baseModel ? shellWord(e.baseModel) : '<base model>'} --adapter-path <this folder> --prompt "…"`)}, or ${codeSpan(`mlx_lm.load(${pyString(e.baseModel || '<base model>')}, adapter_path="<this folder>")`)}.`,
      }),
    ];
  },
};

export const GGUF_WRITER: AdapterFormatWriter = {
  kind: 'adapter',
  files(e, ctx) {
    const desc = ctx.desc;
    // Phi-3: fused like PEFT's qkv_proj / gate_up_proj, which are llama.cpp's attn_qkv / ffn_up.
    const adapter = checkedAdapter('GGUF LoRA', e, desc, true);
    return [
      { name: GGUF_LORA_FILE, bytes: ggufLoraFile(adapter, desc!, ctx.dtype as GgufLoraDtype) },
      card(e, ctx.facts, {
        library: 'gguf',
        usage: `Use it with a GGUF of the same base model (architecture \`${ggufArchName(desc!.arch)}\`): \`llama-cli -m base.gguf --lora ${GGUF_LORA_FILE}\` (or \`--lora-scaled ${GGUF_LORA_FILE} 0.5\` for half strength).`,
      }),
    ];
  },
};

export const MERGED_WRITER: ModelFormatWriter = {
  kind: 'model',
  write: (source, e, sink, opts) =>
    exportMergedModel(source, e, sink, {
      ...(opts.shardBytes !== undefined ? { shardBytes: opts.shardBytes } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.cancelled ? { cancelled: opts.cancelled } : {}),
    }),
  isUserError: (err) => err instanceof MergeError,
};

/**
 * The merged model folder: the base model of `source` (safetensors, single or sharded) with the adapter folded into
 * its stored weights, streamed into `sink` (see merge.ts), plus a README.md that says what it is.
 */
export async function exportMergedModel(
  source: ModelSource,
  e: AdapterTensors,
  sink: FileSink,
  opts: MergeOptions = {},
): Promise<MergeResult> {
  const result = await mergeAdapter(source, e, sink, opts);
  const text = `---
${yamlLine('base_model', e.baseModel)}library_name: transformers
tags: [lora, merged, webgpu]
---

# ${mdText(e.baseModel) || 'Model'} with a LoRA adapter merged in

Made by LoRA Studio: W += scaling · B @ A (scaling ${adapterScaling(e)}, rank ${e.rank}) for ${result.mergedModules.length} projections
(${mdText(e.targetModules.join(', '))}; layers ${layersOf(e).join(', ')}), computed in float32 and stored in each weight's original dtype.
The adapter was merged into the stored 16/32-bit weights, not into a quantized copy.

Load it like the base model: \`AutoModelForCausalLM.from_pretrained("<this folder>")\`.
`;
  const bytes = new TextEncoder().encode(text);
  const out = await sink.open('README.md');
  await out.write(bytes);
  await out.close();
  result.files.push({ name: 'README.md', bytes: bytes.byteLength });
  return result;
}
