/**
 * The pure part of exporting a run: a run and one of its checkpoints → the files of the chosen format, the folder
 * they go in, and a zip of that folder. No GPU, OPFS or worker APIs, so it runs (and is tested) in Node as well;
 * src/worker/export.ts reads IndexedDB, writes the files into the user's folder or hands back the zip.
 */
import { type Zippable, zipSync } from 'fflate';
import type { ModelDescription } from '../model/config.ts';
import { type AdapterTensors, adapterFromCheckpoint } from '../train/adapter.ts';
import { readRunState } from '../train/checkpoint.ts';
import type { CardFacts, ExportedFile } from '../train/export.ts';
import { type AdapterExportFormat, adapterExportFiles, exportFormat } from '../train/export-formats.ts';
import type { ExportDtype, ExportFormat, RunInfo } from './contract-runs.ts';
import { HintedError } from './hinted.ts';

export type { ExportedFile };

/** A file or folder name from free text: letters, digits, '.', '_' and '-' only. */
export function safeName(text: string, fallback = 'run'): string {
  const s = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\w.-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 80);
  return s || fallback;
}

/** `<run>-<format>`, with `-best` when the best checkpoint (not the latest) is exported. */
export function exportFolderName(runName: string, format: ExportFormat, which: 'latest' | 'best'): string {
  return `${safeName(runName)}${which === 'best' ? '-best' : ''}-${format}`;
}

export interface CheckpointInput {
  step: number;
  valLoss: number | null;
  bytes: Uint8Array;
}

export interface AdapterExportInput {
  run: Pick<RunInfo, 'name' | 'datasetName' | 'model'>;
  checkpoint: CheckpointInput;
  which: 'latest' | 'best';
  format: ExportFormat;
  dtype: ExportDtype;
  /** The training loss at the checkpoint's step, when known (for the model card). */
  loss: number | null;
  /**
   * The base model's shape (layers for MLX, architecture and heads for GGUF; every format checks the adapter fits it),
   * or null when the model is not cached: then only PEFT can be written.
   */
  desc?: ModelDescription | null;
}

export interface AdapterExport {
  folder: string;
  files: ExportedFile[];
  adapter: AdapterTensors;
  facts: CardFacts;
}

/** Checks that `format` can be written in `dtype`; throws a HintedError that says what to pick instead. */
export function checkSupported(format: ExportFormat, dtype: ExportDtype): void {
  const s = exportFormat(format);
  // Merged weights keep each tensor's stored dtype: the requested one does not apply.
  if (s.dtypes.length > 0 && !s.dtypes.includes(dtype))
    throw new HintedError(`${s.label} adapters cannot be written in ${dtype}.`, `Pick ${s.dtypes.join(' or ')}.`);
}

/** The adapter of a checkpoint and what its model card says about it. */
export async function checkpointAdapter(
  run: AdapterExportInput['run'],
  checkpoint: CheckpointInput,
  loss: number | null,
): Promise<{ adapter: AdapterTensors; facts: CardFacts }> {
  let state;
  try {
    state = await readRunState(checkpoint.bytes);
  } catch (err) {
    throw new HintedError(
      `The checkpoint of step ${checkpoint.step} cannot be read: ${(err as Error).message}`,
      'Export the other checkpoint (latest or best), or train the run again.',
    );
  }
  let adapter: AdapterTensors;
  try {
    adapter = await adapterFromCheckpoint(checkpoint.bytes);
  } catch (err) {
    throw new HintedError(
      (err as Error).message,
      'Export another checkpoint of a run trained with this version of the app.',
    );
  }
  if (adapter.modules.length === 0)
    throw new HintedError(
      `The checkpoint of step ${checkpoint.step} holds no adapter weights.`,
      'Export another checkpoint, or train the run again.',
    );
  const facts: CardFacts = {
    baseModel: adapter.baseModel || run.model.repo,
    data: run.datasetName,
    config: state.config,
    steps: checkpoint.step,
    finalLoss: loss,
    finalValLoss: checkpoint.valLoss,
  };
  return { adapter, facts };
}

/** The adapter files of a run's checkpoint in `format` (merged weights are written by export.ts from the model). */
export async function adapterExport(input: AdapterExportInput): Promise<AdapterExport> {
  const spec = exportFormat(input.format);
  if (spec.needsModel === 'weights')
    throw new Error(`${input.format} is not an adapter export; use exportModel in export.ts`);
  const format = input.format as AdapterExportFormat;
  checkSupported(format, input.dtype);
  const { adapter, facts } = await checkpointAdapter(input.run, input.checkpoint, input.loss);
  let files: ExportedFile[];
  if (input.desc) {
    try {
      files = await adapterExportFiles(format, adapter, { facts, desc: input.desc, dtype: input.dtype });
    } catch (err) {
      throw new HintedError(
        `${(err as Error).message}`,
        `The run was trained on ${input.run.model.repo}; check that the copy in this browser is that model, or export as PEFT.`,
      );
    }
  } else if (!spec.needsModel) {
    // The model is not cached: PEFT needs nothing from it (its shapes are not checked then).
    // Phi-3 runs record their fused layout in the checkpoint, so the PEFT names stay right without the model.
    const state = await readRunState(input.checkpoint.bytes);
    const fused = state.adapter?.fused ?? null;
    files = await adapterExportFiles(format, adapter, { facts, desc: null, fused, dtype: input.dtype });
  } else {
    throw new HintedError(
      `${spec.label} export needs the shape of the base model, and ${input.run.model.repo} is not in this browser's cache.`,
      'Download the model again (or drop its folder) on the Model page, or export as PEFT.',
    );
  }
  return { folder: exportFolderName(input.run.name, input.format, input.which), files, adapter, facts };
}

/** Already-compressed or binary float files are stored; text is deflated. */
function zipLevel(name: string): 0 | 6 {
  return /\.(safetensors|gguf|npz|bin)$/i.test(name) ? 0 : 6;
}

/** A zip holding `folder/<file>` for each file (fflate, in memory). */
export function zipExport(folder: string, files: readonly ExportedFile[]): Uint8Array<ArrayBuffer> {
  const entries: Zippable = {};
  for (const f of files) entries[`${folder}/${f.name}`] = [f.bytes, { level: zipLevel(f.name) }];
  return zipSync(entries, { mtime: new Date() });
}

/** Sizes as the UI lists them: `folder/name`. */
export function fileInfos(
  folder: string,
  files: readonly { name: string; bytes: Uint8Array | number }[],
): { name: string; bytes: number }[] {
  return files.map((f) => ({
    name: `${folder}/${f.name}`,
    bytes: typeof f.bytes === 'number' ? f.bytes : f.bytes.byteLength,
  }));
}
