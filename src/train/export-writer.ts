/**
 * What an export format's writer is (src/train/export-formats.ts lists the formats; each writer module implements one
 * of these): an adapter writer turns the adapter tensors into the files of an adapter folder, a model writer streams
 * the base model and the adapter into a FileSink. Types only, so the writers and the registry share them without
 * importing each other.
 */
import type { AdapterDtype } from '../formats/peft.ts';
import type { FusedLayout } from '../formats/phi3-fuse.ts';
import type { ModelDescription } from '../model/config.ts';
import type { ModelSource } from '../model/source.ts';
import type { AdapterTensors } from './adapter.ts';
import type { CardFacts, ExportedFile } from './export.ts';
import type { FileSink, MergeProgress } from './merge.ts';
import type { OnnxAdapterMode, OnnxVariant } from './onnx/graph-options.ts';

export interface AdapterExportContext {
  /**
   * What the model card says about training; null when it is unknown (e.g. the CLI converting a PEFT folder): the
   * card then lists the adapter's own settings only.
   */
  facts: CardFacts | null;
  /**
   * The base model's description (layer count for MLX, architecture and heads for GGUF; every writer checks the
   * adapter's shapes against it). Null only for a format that needs nothing of the model (PEFT): then nothing is
   * checked, and `fused` says whether the adapter is Phi-3's (its checkpoint records the layout).
   */
  desc: ModelDescription | null;
  fused?: FusedLayout | null;
  dtype: AdapterDtype;
}

export interface AdapterFormatWriter {
  kind: 'adapter';
  /** The files of the adapter folder; throws (before producing anything) what the format cannot express. */
  files(e: AdapterTensors, ctx: AdapterExportContext): ExportedFile[];
}

export interface ModelExportOptions {
  onProgress?: (p: MergeProgress) => void;
  /** Checked between chunks; when it returns true the export stops with an AbortError. */
  cancelled?: () => boolean;
  /** merged: largest tensor data per shard in bytes. */
  shardBytes?: number;
  /** onnx: the variants to write and whether the adapter is merged or kept as separate MatMul branches. */
  onnx?: { variants: readonly OnnxVariant[]; adapterMode: OnnxAdapterMode };
}

export interface ModelFormatWriter {
  kind: 'model';
  write(
    source: ModelSource,
    e: AdapterTensors,
    sink: FileSink,
    opts: ModelExportOptions,
  ): Promise<{ files: { name: string; bytes: number }[] }>;
  /** Whether `err` is one the user can act on: its message says what is wrong, the entry's `ifRefused` what to do. */
  isUserError(err: unknown): boolean;
}
