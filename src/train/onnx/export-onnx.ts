/**
 * The ONNX export: a model folder that transformers.js (`AutoModelForCausalLM.from_pretrained(folder)`) and
 * onnxruntime-web load, with the adapter merged into the weights (default) or kept as separate MatMul branches:
 *   onnx/model.onnx (f32), onnx/model_fp16.onnx, onnx/model_q4.onnx     the variants asked for
 *   onnx/<file>_data[_i]                                                 external data (above 2 GB; always for
 *                                                                        separate adapters, so the base data file
 *                                                                        is the same for every adapter)
 *   config.json (+ transformers.js_config), generation_config.json, tokenizer files and chat template, README.md
 * Streamed tensor by tensor into a FileSink (memory ≈ one tensor). Browser-safe.
 */
import { writeOnnxModel } from '../../formats/onnx/writer.ts';
import { fusedLayout, splitPhi3Adapter } from '../../formats/phi3-fuse.ts';
import { parseModelConfig } from '../../model/config.ts';
import { detectLayout, type ModelSource } from '../../model/source.ts';
import type { AdapterTensors } from '../adapter.ts';
import { mdText, yamlLine } from '../card-text.ts';
import type { ModelFormatWriter } from '../export-writer.ts';
import { checkAdapterFitsModel } from '../exports.ts';
import { adapterScaling, COPIED_FILE, copyFile, type FileSink, writeFile, type MergeProgress } from '../merge.ts';
import { buildDecoderGraph, type OnnxAdapterMode, type OnnxVariant } from './decoder-graph.ts';
import { transformersJsSnippet } from './snippet.ts';
import { OnnxExportError, OnnxWeights } from './weights.ts';

export { OnnxExportError };
export type { OnnxAdapterMode, OnnxVariant };

export const ONNX_VARIANTS: readonly OnnxVariant[] = ['f32', 'f16', 'q4'];

/** File name of each variant, as transformers.js picks it by dtype (fp32, fp16, q4). */
export const ONNX_FILE: Record<OnnxVariant, string> = {
  f32: 'model.onnx',
  f16: 'model_fp16.onnx',
  q4: 'model_q4.onnx',
};

/** transformers.js' dtype name for each variant. */
export const TRANSFORMERS_JS_DTYPE: Record<OnnxVariant, string> = { f32: 'fp32', f16: 'fp16', q4: 'q4' };

export interface OnnxExportOptions {
  /** Variants to write (default f32 only). */
  variants?: readonly OnnxVariant[];
  /** 'merged' (default): W += s·B@A; 'separate': base weights unchanged, the adapter as MatMul branches. */
  adapterMode?: OnnxAdapterMode;
  /** External data: 'auto' (default: above ~1.9 GB, and always for separate adapters), 'always' or 'never'. */
  external?: 'auto' | 'always' | 'never';
  /** Largest external data file (default 2 GiB). */
  chunkBytes?: number;
  /** RoPE table length (default max_position_embeddings). */
  positions?: number;
  onProgress?: (p: MergeProgress) => void;
  cancelled?: () => boolean;
}

export interface OnnxExportResult {
  files: { name: string; bytes: number }[];
  variants: OnnxVariant[];
  /** transformers.js dtype → number of external data files, as written into config.json. */
  externalData: Record<string, number>;
}

const enc = new TextEncoder();

function readme(base: string, adapter: AdapterTensors | null, mode: OnnxAdapterMode, variants: OnnxVariant[]): string {
  const what = adapter
    ? mode === 'merged'
      ? `with a LoRA adapter merged in (W += ${adapterScaling(adapter)} · B @ A, rank ${adapter.rank}, ${adapter.modules.length} projections)`
      : `with a LoRA adapter kept as separate MatMul branches (rank ${adapter.rank}, ${adapter.modules.length} projections; the base weights in onnx/*_data are unchanged)`
    : '';
  return `---
${yamlLine('base_model', base)}library_name: transformers.js
tags: [onnx, lora, webgpu]
---

# ${mdText(base) || 'Model'} as ONNX ${what}

Made by LoRA Studio. Files: ${variants.map((v) => `onnx/${ONNX_FILE[v]} (${TRANSFORMERS_JS_DTYPE[v]})`).join(', ')}.
Inputs input_ids, attention_mask, position_ids, past_key_values.N.key/value, num_logits_to_keep; outputs logits and
present.N.key/value, as transformers.js runs decoder-only models.

\`\`\`js
${transformersJsSnippet('<this folder>', TRANSFORMERS_JS_DTYPE[variants.includes('q4') ? 'q4' : variants[0]!])}
\`\`\`
`;
}

/** Writes the ONNX folder of the model in `source` (safetensors) with `adapter` (or none) into `sink`. */
export async function exportOnnxModel(
  source: ModelSource,
  adapter: AdapterTensors | null,
  sink: FileSink,
  opts: OnnxExportOptions = {},
): Promise<OnnxExportResult> {
  const variants: OnnxVariant[] = [...new Set<OnnxVariant>(opts.variants ?? ['f32'])];
  if (variants.length === 0) throw new OnnxExportError('Pick at least one ONNX variant (f32, f16 or q4).');
  const mode = opts.adapterMode ?? 'merged';
  const layout = await detectLayout(source);
  if (layout.kind === 'gguf')
    throw new OnnxExportError(
      `${source.name} holds only a GGUF file (${layout.file}). The ONNX export reads the model's safetensors weights: download the original Hugging Face model (config.json + model.safetensors).`,
    );
  const configText = (await source.readText('config.json'))!;
  const desc = parseModelConfig(layout.config);
  // Phi-3 adapters read from PEFT hold fused qkv_proj / gate_up_proj modules: split them exactly into their parts.
  const fused = fusedLayout(desc);
  if (adapter && fused) adapter = splitPhi3Adapter(adapter, fused);
  if (adapter) checkAdapterFitsModel(adapter, desc);
  const weights = await OnnxWeights.open(source, desc, adapter);
  const files: OnnxExportResult['files'] = [];
  const externalData: Record<string, number> = {};
  try {
    for (const variant of variants) {
      const built = buildDecoderGraph(desc, {
        variant,
        adapterModules: adapter?.modules.map((m) => m.path) ?? [],
        adapterMode: mode,
        adapterRank: adapter?.rank ?? 0,
        ...(opts.positions !== undefined ? { positions: opts.positions } : {}),
      });
      const file = `onnx/${ONNX_FILE[variant]}`;
      const separate = mode === 'separate' && adapter !== null;
      const result = await writeOnnxModel(sink, built.graph, (t) => weights.bytes(built.recipes.get(t.name)!), {
        file,
        opsets: built.opsets,
        external: opts.external ?? (separate ? 'always' : 'auto'),
        keepInline: (t) => built.recipes.get(t.name)?.kind === 'lora',
        ...(opts.chunkBytes !== undefined ? { chunkBytes: opts.chunkBytes } : {}),
        metadata: { base_model: adapter?.baseModel ?? '', adapter: adapter ? mode : 'none' },
        onProgress: (done, total) => opts.onProgress?.({ file, bytesDone: done, bytesTotal: total }),
        ...(opts.cancelled ? { cancelled: opts.cancelled } : {}),
      });
      files.push(...result.files);
      if (result.dataFiles.length > 0) externalData[ONNX_FILE[variant]] = result.dataFiles.length;
      if (adapter) {
        const missed = adapter.modules.filter((m) => !weights.used.has(m.path));
        if (missed.length > 0)
          throw new OnnxExportError(
            `The adapter's ${missed.map((m) => m.path).join(', ')} did not fit the model's projections: was it trained on another base model?`,
          );
      }
    }
  } finally {
    await weights.close();
  }

  // Tokenizer, chat template and generation config copied; config.json last, with transformers.js' settings.
  for (const f of source.list().filter((f) => COPIED_FILE.test(f) && f !== 'config.json')) {
    const n = await writeFile(sink, f, (out) =>
      copyFile(source, f, out, 1 << 24, opts.cancelled ? { cancelled: opts.cancelled } : {}),
    );
    files.push({ name: f, bytes: n });
  }
  const base = adapter?.baseModel ?? '';
  const card = enc.encode(readme(base, adapter, mode, variants));
  await writeFile(sink, 'README.md', (f) => f.write(card));
  files.push({ name: 'README.md', bytes: card.byteLength });
  const config = JSON.parse(configText) as Record<string, unknown>;
  const jsConfig: Record<string, unknown> = {
    ...((config['transformers.js_config'] as Record<string, unknown> | undefined) ?? {}),
    dtype: TRANSFORMERS_JS_DTYPE[variants.includes('q4') ? 'q4' : variants[0]!],
  };
  if (Object.keys(externalData).length > 0) jsConfig.use_external_data_format = externalData;
  else delete jsConfig.use_external_data_format;
  const configBytes = enc.encode(`${JSON.stringify({ ...config, 'transformers.js_config': jsConfig }, null, 2)}\n`);
  await writeFile(sink, 'config.json', (f) => f.write(configBytes));
  files.push({ name: 'config.json', bytes: configBytes.byteLength });
  return { files, variants, externalData };
}

/** The ONNX entry of src/train/export-formats.ts. */
export const ONNX_WRITER: ModelFormatWriter = {
  kind: 'model',
  write: (source, e, sink, opts) =>
    exportOnnxModel(source, e, sink, {
      ...(opts.onnx ? { variants: opts.onnx.variants, adapterMode: opts.onnx.adapterMode } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.cancelled ? { cancelled: opts.cancelled } : {}),
    }),
  isUserError: (err) => err instanceof OnnxExportError,
};
