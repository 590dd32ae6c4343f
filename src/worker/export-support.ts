/**
 * Which export formats and dtypes this build writes (src/train/exports.ts EXPORT_DTYPES; a unit test keeps the two in
 * step), and what each format is for. Imported by the worker and by the Export page, which shows what cannot be
 * picked disabled with the reason; no other imports, so the page does not load the writers.
 */
import type { ExportDtype, ExportFormat } from './contract-runs.ts';

export interface ExportFormatInfo {
  id: ExportFormat;
  label: string;
  /** One line: what the files are for. */
  purpose: string;
  dtypes: readonly ExportDtype[];
  /** Empty: the format keeps the stored dtypes (merged weights). */
  /** Why it cannot be picked in this build, or null. */
  unavailableReason: string | null;
  /** Whether it needs the base model in this browser's cache (merged weights). */
  needsModel: boolean;
}

export const EXPORT_FORMATS: readonly ExportFormatInfo[] = [
  {
    id: 'peft',
    label: 'PEFT (Hugging Face)',
    purpose:
      'adapter_model.safetensors + adapter_config.json: load with PeftModel.from_pretrained, or serve with vLLM / TGI.',
    dtypes: ['f32', 'f16', 'bf16'],
    unavailableReason: null,
    needsModel: false,
  },
  {
    id: 'mlx',
    label: 'MLX',
    purpose: 'adapters.safetensors + adapter_config.json for mlx-lm on Apple silicon (mlx_lm.generate --adapter-path).',
    dtypes: ['f32', 'f16', 'bf16'],
    unavailableReason: null,
    needsModel: false,
  },
  {
    id: 'gguf',
    label: 'llama.cpp GGUF LoRA',
    purpose: 'One .gguf adapter for llama.cpp, Ollama and LM Studio (llama-cli --lora adapter.gguf).',
    dtypes: ['f32', 'f16'],
    unavailableReason: null,
    needsModel: false,
  },
  {
    id: 'merged',
    label: 'Merged model',
    purpose:
      'The base model with the adapter folded into its weights: a full safetensors model folder for transformers, vLLM or conversion to GGUF; no PEFT needed.',
    dtypes: [],
    unavailableReason: null,
    needsModel: true,
  },
  {
    id: 'onnx',
    label: 'ONNX (transformers.js, onnxruntime-web)',
    purpose:
      'The base model with the adapter as an ONNX model folder (onnx/model.onnx, model_fp16.onnx, model_q4.onnx) that transformers.js and onnxruntime-web run in a web page (WebGPU or WASM).',
    dtypes: [],
    unavailableReason: null,
    needsModel: true,
  },
];

export function exportFormat(id: ExportFormat): ExportFormatInfo {
  return EXPORT_FORMATS.find((f) => f.id === id)!;
}

/** A zip of a merged model is built in memory: only models below this size may be zipped. */
export const MERGED_ZIP_LIMIT_BYTES = 2 ** 30;
