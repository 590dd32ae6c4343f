/**
 * The export formats: one entry per format, and the only list of them. The CLI (`cli export --format`), the
 * worker (exportRun), the Export page and the tests read it; nothing else names the formats one by one.
 *
 * An entry says what a format is (id, label, purpose), which dtypes it writes the adapter in (none: each weight
 * keeps its stored dtype), what it needs of the base model, and how it writes its files: `writer()` loads the
 * writer with a dynamic import, so the Export page, which lists the formats, does not load any writer. Two kinds:
 *   adapter   the adapter tensors → the files of an adapter folder, in memory (peft, mlx, gguf)
 *   model     the base model + the adapter streamed into a FileSink, tensor by tensor (merged, onnx)
 *
 * Adding a format:
 *   1. its writer, in a module of its own (the byte layout in src/formats/ if it is a file format): export an
 *      `AdapterFormatWriter` (sync files(adapter, ctx)) or a `ModelFormatWriter` (async write(source, adapter,
 *      sink, opts)); it throws, before writing anything, what the format cannot express;
 *   2. its entry below (the id is also the suffix of the export folder, `<run>-<id>`);
 *   3. its test: what the writer's files hold, read back by the real consumer where one runs in the tests.
 *      test/unit/train/export-formats.test.ts already runs every adapter format through its dtypes.
 * A format with options of its own (like ONNX's variants) also adds them to ModelExportOptions, the CLI flags and
 * the Export page.
 */
import type { AdapterDtype } from '../formats/peft.ts';
import type { ModelSource } from '../model/source.ts';
import type { AdapterTensors } from './adapter.ts';
import type { ExportedFile } from './export.ts';
import type {
  AdapterExportContext,
  AdapterFormatWriter,
  ModelExportOptions,
  ModelFormatWriter,
} from './export-writer.ts';
import type { FileSink } from './merge.ts';

export type { AdapterDtype };

export type { AdapterExportContext, AdapterFormatWriter, ModelExportOptions, ModelFormatWriter };

export interface ExportFormatSpec {
  id: string;
  label: string;
  /** One line: what the files are for. */
  purpose: string;
  /** The dtypes the adapter can be written in; empty: each weight keeps its stored dtype. */
  dtypes: readonly AdapterDtype[];
  /**
   * What the writer needs of the base model: nothing (PEFT), its config (`desc`: shapes, layer count, architecture),
   * or its weights (the model is read from the cache or the folder and written out with the adapter).
   */
  needsModel: false | 'config' | 'weights';
  /** needsModel 'weights': the sentence that starts the message when the model is not there. */
  madeFromModel?: string;
  /** needsModel 'weights': what to do instead when the writer refuses. */
  ifRefused?: string;
  writer(): Promise<AdapterFormatWriter | ModelFormatWriter>;
}

const MERGE_HINT =
  'Export the adapter instead (PEFT) and merge it with PeftModel.merge_and_unload(), or apply it at run time (llama.cpp: the GGUF LoRA with --lora).';

export const EXPORT_FORMATS = [
  {
    id: 'peft',
    label: 'PEFT (Hugging Face)',
    purpose:
      'adapter_model.safetensors + adapter_config.json: load with PeftModel.from_pretrained, or serve with vLLM / TGI.',
    dtypes: ['f32', 'f16', 'bf16'],
    needsModel: false,
    writer: async () => (await import('./exports.ts')).PEFT_WRITER,
  },
  {
    id: 'mlx',
    label: 'MLX',
    purpose: 'adapters.safetensors + adapter_config.json for mlx-lm on Apple silicon (mlx_lm.generate --adapter-path).',
    dtypes: ['f32', 'f16', 'bf16'],
    needsModel: 'config',
    writer: async () => (await import('./exports.ts')).MLX_WRITER,
  },
  {
    id: 'gguf',
    label: 'llama.cpp GGUF LoRA',
    purpose: 'One .gguf adapter for llama.cpp, Ollama and LM Studio (llama-cli --lora adapter.gguf).',
    dtypes: ['f32', 'f16'],
    needsModel: 'config',
    writer: async () => (await import('./exports.ts')).GGUF_WRITER,
  },
  {
    id: 'merged',
    label: 'Merged model',
    purpose:
      'The base model with the adapter folded into its weights: a full safetensors model folder for transformers, vLLM or conversion to GGUF; no PEFT needed.',
    dtypes: [],
    needsModel: 'weights',
    madeFromModel: 'Merged weights are made from the base model',
    ifRefused: MERGE_HINT,
    writer: async () => (await import('./exports.ts')).MERGED_WRITER,
  },
  {
    id: 'onnx',
    label: 'ONNX (transformers.js, onnxruntime-web)',
    purpose:
      'The base model with the adapter as an ONNX model folder (onnx/model.onnx, model_fp16.onnx, model_q4.onnx) that transformers.js and onnxruntime-web run in a web page (WebGPU or WASM).',
    dtypes: [],
    needsModel: 'weights',
    madeFromModel: 'An ONNX export is made from the base model',
    ifRefused: 'Export the merged model instead and convert it with optimum, or pick another run.',
    writer: async () => (await import('./onnx/export-onnx.ts')).ONNX_WRITER,
  },
] as const satisfies readonly ExportFormatSpec[];

export type ExportFormat = (typeof EXPORT_FORMATS)[number]['id'];

/** The formats written from the adapter alone (with at most the model's config). */
export type AdapterExportFormat = Extract<(typeof EXPORT_FORMATS)[number], { needsModel: false | 'config' }>['id'];

export const EXPORT_FORMAT_IDS: readonly ExportFormat[] = EXPORT_FORMATS.map((f) => f.id);

export function isExportFormat(id: string): id is ExportFormat {
  return (EXPORT_FORMAT_IDS as readonly string[]).includes(id);
}

/** The entry of `id`; throws for an id that is not a format. */
export function exportFormat(id: ExportFormat): ExportFormatSpec {
  const spec = EXPORT_FORMATS.find((f) => f.id === id);
  if (!spec) throw new Error(`Unknown export format "${String(id)}" (${EXPORT_FORMAT_IDS.join(', ')}).`);
  return spec;
}

/** The dtypes each format can be written in (merged keeps each weight's stored dtype; ONNX has its own variants). */
export const EXPORT_DTYPES = Object.fromEntries(EXPORT_FORMATS.map((f) => [f.id, f.dtypes])) as unknown as Record<
  ExportFormat,
  readonly AdapterDtype[]
>;

/** The files of an adapter folder in `format`. Throws (before producing anything) what the format cannot express. */
export async function adapterExportFiles(
  format: AdapterExportFormat,
  e: AdapterTensors,
  ctx: AdapterExportContext,
): Promise<ExportedFile[]> {
  const spec = exportFormat(format);
  const writer = await spec.writer();
  if (writer.kind !== 'adapter')
    throw new Error(`${spec.label} is not an adapter folder: it is written from the base model (writeModelExport).`);
  if (!spec.dtypes.includes(ctx.dtype))
    throw new Error(`${format.toUpperCase()} adapters are written in ${spec.dtypes.join(' or ')}, not ${ctx.dtype}.`);
  if (spec.needsModel && !ctx.desc) throw new Error(`${spec.label} export needs the shape of the base model.`);
  return writer.files(e, ctx);
}

/** A model format's writer refused the export for a reason the user can act on; `hint` says what to do instead. */
export class ExportRefusedError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'ExportRefusedError';
  }
}

/** Writes `format` (a model format) from `source` and the adapter into `sink`. */
export async function writeModelExport(
  format: ExportFormat,
  source: ModelSource,
  e: AdapterTensors,
  sink: FileSink,
  opts: ModelExportOptions = {},
): Promise<{ files: { name: string; bytes: number }[] }> {
  const spec = exportFormat(format);
  const writer = await spec.writer();
  if (writer.kind !== 'model') throw new Error(`${spec.label} is an adapter folder: write it with adapterExportFiles.`);
  try {
    return await writer.write(source, e, sink, opts);
  } catch (err) {
    if (writer.isUserError(err)) throw new ExportRefusedError((err as Error).message, spec.ifRefused ?? '');
    throw err;
  }
}

/** A zip of a model export is built in memory: only models below this size may be zipped. */
export const MERGED_ZIP_LIMIT_BYTES = 2 ** 30;
