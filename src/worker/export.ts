/**
 * Export in the engine worker: a run's latest or best checkpoint (IndexedDB) → the files of the chosen format
 * (src/train/export-formats.ts, through ./export-files.ts for adapter formats), written into a subfolder of the folder
 * the user picked (`<run>-peft`, …), or handed back as a zip's bytes when the page has no folder picker. The
 * checkpoint holds the adapter, so no GPU is used (nor claimed): adapter formats need at most the base model's config
 * (from the cache, to check shapes and name tensors); model formats (merged weights, ONNX) stream the cached base
 * model's weights through their writer into the folder, and are zipped in memory only for small models.
 */
import { transfer } from 'comlink';
import type { AppDatabase } from '../storage/db.ts';
import { bestCheckpoint, latestCheckpoint } from '../storage/checkpoints.ts';
import { isQuotaError } from '../storage/quota.ts';
import type { CheckpointRow } from '../storage/db.ts';
import { readCachedModel } from '../model/download.ts';
import { openCheckpoint } from '../model/checkpoint.ts';
import type { ModelDescription } from '../model/config.ts';
import type { FilesModelSource } from '../model/source.ts';
import {
  type ExportFormat,
  ExportRefusedError,
  MERGED_ZIP_LIMIT_BYTES,
  exportFormat,
  writeModelExport,
} from '../train/export-formats.ts';
import type { FileSink, SinkFile } from '../train/merge.ts';
import type {
  EngineApi,
  ExportedFileInfo,
  ExportProgress,
  ExportRequest,
  ModelRef,
  Result,
  RunInfo,
} from './contract.ts';
import {
  type ExportedFile,
  adapterExport,
  checkpointAdapter,
  exportFolderName,
  fileInfos,
  zipExport,
} from './export-files.ts';
import { HintedError, hintedAttempt } from './hinted.ts';
import { copySink } from './onnx-copies.ts';
import { cachedModelSource, opfs, workerDb } from './runtime.ts';

/** The training loss logged at `step` (or the last one before it), or null when the run logged none. */
export async function lossAtStep(db: AppDatabase, runId: string, step: number): Promise<number | null> {
  const rows = await db.getAll('runMetrics', IDBKeyRange.bound([runId, -Infinity], [runId, Infinity]));
  let loss: number | null = null;
  for (const r of rows) if (r.metric.kind === 'step' && r.metric.step <= step) loss = r.metric.loss;
  return loss;
}

/** The checkpoint to export, or a HintedError that says why there is none. */
export async function pickCheckpoint(db: AppDatabase, runId: string, which: 'latest' | 'best'): Promise<CheckpointRow> {
  if (which === 'best') {
    const best = await bestCheckpoint(db, runId);
    if (best) return best;
    if (await latestCheckpoint(db, runId))
      throw new HintedError(
        'This run has no checkpoint with a validation loss, so there is no "best" one.',
        'Export the latest checkpoint instead.',
      );
  }
  const latest = await latestCheckpoint(db, runId);
  if (!latest)
    throw new HintedError(
      'This run has no saved checkpoint yet.',
      'Let it train until its first checkpoint (or stop it: stopping saves one), then export.',
    );
  return latest;
}

/** A name under `parent` that is not taken yet: `name`, else `name-2`, `name-3`, … */
async function freeFolderName(parent: FileSystemDirectoryHandle, name: string): Promise<string> {
  for (let i = 1; i < 1000; i++) {
    const candidate = i === 1 ? name : `${name}-${i}`;
    try {
      await parent.getDirectoryHandle(candidate);
    } catch (err) {
      if ((err as { name?: string }).name === 'NotFoundError') return candidate;
      if ((err as { name?: string }).name === 'TypeMismatchError') continue; // a file of that name
      throw err;
    }
  }
  throw new Error(`Too many folders named ${name} already exist.`);
}

function folderWriteError(err: unknown, folder: string): Error {
  const name = (err as { name?: string }).name;
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return new HintedError(
      `The browser did not allow writing into the chosen folder (${folder}).`,
      'Press "Choose folder…" again and allow editing, or use "Download .zip".',
    );
  }
  if (isQuotaError(err))
    return new HintedError(
      `The disk is full: ${folder} could not be written completely.`,
      'Free some space, or choose a folder on another disk.',
    );
  return new HintedError(
    `Writing ${folder} failed: ${err instanceof Error ? err.message : String(err)}`,
    'Choose another folder, or use "Download .zip".',
  );
}

/** A sink that writes files into `dir` (File System Access API); "onnx/model.onnx" goes into a subfolder. */
function directorySink(dir: FileSystemDirectoryHandle): FileSink {
  return {
    async open(name: string): Promise<SinkFile> {
      const parts = name.split('/');
      let folder = dir;
      for (const p of parts.slice(0, -1)) folder = await folder.getDirectoryHandle(p, { create: true });
      const w = await (await folder.getFileHandle(parts.at(-1)!, { create: true })).createWritable();
      return {
        write: (chunk) => w.write(chunk as Uint8Array<ArrayBuffer>),
        close: () => w.close(),
        abort: () => w.abort(),
      };
    },
  };
}

/** A sink that keeps the files in memory (for a zip). */
function memorySink(files: ExportedFile[]): FileSink {
  return {
    async open(name: string): Promise<SinkFile> {
      const chunks: Uint8Array[] = [];
      return {
        async write(chunk) {
          chunks.push(chunk.slice());
        },
        async close() {
          const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
          let at = 0;
          for (const c of chunks) {
            bytes.set(c, at);
            at += c.byteLength;
          }
          files.push({ name, bytes });
        },
      };
    },
  };
}

/** Writes the files into a new subfolder of `parent`; returns the subfolder's name. */
export async function writeFolder(
  parent: FileSystemDirectoryHandle,
  folder: string,
  files: readonly ExportedFile[],
): Promise<string> {
  let name = folder;
  try {
    name = await freeFolderName(parent, folder);
    const sink = directorySink(await parent.getDirectoryHandle(name, { create: true }));
    for (const f of files) {
      const out = await sink.open(f.name);
      try {
        await out.write(f.bytes);
        await out.close();
      } catch (err) {
        await out.abort?.().catch(() => undefined);
        throw err;
      }
    }
    return name;
  } catch (err) {
    throw folderWriteError(err, name);
  }
}

/** The cached base model as a source, or null when it is not (completely) in this browser's cache. */
export async function cachedSource(ref: ModelRef): Promise<FilesModelSource | null> {
  try {
    return await cachedModelSource(ref);
  } catch {
    return null;
  }
}

/** The cached base model's description (config.json or GGUF metadata), or null when it is not cached. */
export async function cachedDescription(ref: ModelRef): Promise<ModelDescription | null> {
  const source = await cachedSource(ref);
  if (!source) return null;
  const ckpt = await openCheckpoint(source);
  await ckpt.close();
  return ckpt.desc;
}

let cancelRequested = false;

/** A format made from the cached base model (merged weights, ONNX), streamed into the folder. */
async function exportModel(
  format: ExportFormat,
  run: RunInfo,
  ckpt: CheckpointRow,
  which: 'latest' | 'best',
  loss: number | null,
  dir: FileSystemDirectoryHandle | null,
  onProgress?: (p: ExportProgress) => void,
  onnx?: ExportRequest['onnx'],
): Promise<{ files: ExportedFileInfo[]; zip: Uint8Array | null; note?: string }> {
  const spec = exportFormat(format);
  const { adapter } = await checkpointAdapter(run, ckpt, loss);
  const source = await cachedSource(run.model);
  if (!source)
    throw new HintedError(
      `${spec.madeFromModel}, and ${run.model.repo} is not in this browser's cache.`,
      `Download it again (or drop its folder) on the Model page. ${spec.ifRefused}`,
    );
  const folder = exportFolderName(run.name, format, which);
  const opts = { ...(onProgress ? { onProgress } : {}), cancelled: () => cancelRequested, ...(onnx ? { onnx } : {}) };
  const merge = async (target: FileSink): Promise<{ files: { name: string; bytes: number }[]; note?: string }> => {
    // ONNX: a copy stays in this browser for the Try page's onnxruntime-web check (unless the user opted out).
    const copy = format === 'onnx' && onnx && onnx.keepCopy !== false ? await copySink(run.id, target) : null;
    try {
      const result = await writeModelExport(format, source, adapter, copy?.sink ?? target, opts);
      const copyFailure = await copy?.commit(
        {
          runId: run.id,
          runName: run.name,
          step: ckpt.step,
          which,
          model: run.model,
          variants: [...onnx!.variants],
          adapterMode: onnx!.adapterMode,
        },
        result.files,
      );
      return copyFailure
        ? {
            ...result,
            note: `No copy was kept in this browser for the Try it page (${copyFailure}); free some browser storage and export again to run it with onnxruntime-web there.`,
          }
        : result;
    } catch (err) {
      await copy?.discard().catch(() => undefined);
      if (err instanceof ExportRefusedError) throw new HintedError(err.message, err.hint);
      throw err;
    }
  };
  if (dir) {
    let name = folder;
    let created = false;
    try {
      name = await freeFolderName(dir, folder);
      const sub = await dir.getDirectoryHandle(name, { create: true });
      created = true;
      const result = await merge(directorySink(sub));
      return { files: fileInfos(name, result.files), zip: null, ...(result.note ? { note: result.note } : {}) };
    } catch (err) {
      // An incomplete model folder is worse than none.
      if (created) await dir.removeEntry(name, { recursive: true }).catch(() => undefined);
      if (err instanceof HintedError) throw err;
      if ((err as { name?: string }).name === 'AbortError')
        throw new HintedError(
          'The export was cancelled; the partly written folder was removed.',
          'Press the button again to start over.',
        );
      throw folderWriteError(err, name);
    }
  }
  // A zip is built in memory: only for small models.
  const cached = await readCachedModel(opfs(), run.model);
  const weightBytes = (cached?.files ?? [])
    .filter((f) => /\.(safetensors|gguf)$/i.test(f.path))
    .reduce((n, f) => n + f.size, 0);
  if (weightBytes > MERGED_ZIP_LIMIT_BYTES) {
    const gib = (weightBytes / 2 ** 30).toFixed(1);
    throw new HintedError(
      `The merged model would be about ${gib} GiB: too large to build as a zip in the browser's memory (the limit is ${MERGED_ZIP_LIMIT_BYTES / 2 ** 30} GiB).`,
      'Use "Choose folder…" (Chrome or Edge) to write it straight to disk, or export the adapter (PEFT) and merge it in Python.',
    );
  }
  const files: ExportedFile[] = [];
  const result = await merge(memorySink(files));
  return {
    files: fileInfos(folder, files),
    zip: zipExport(folder, files),
    ...(result.note ? { note: result.note } : {}),
  };
}

export async function exportRun(
  req: ExportRequest,
  dir: FileSystemDirectoryHandle | null,
  onProgress?: (p: ExportProgress) => void,
): Promise<Result<{ files: ExportedFileInfo[]; zip: Uint8Array | null; note?: string }>> {
  cancelRequested = false;
  const result = await hintedAttempt(async () => {
    const db = await workerDb();
    const run = await db.get('runs', req.runId);
    if (!run)
      throw new HintedError(
        'This run is no longer stored in this browser.',
        'Pick another run; the list refreshes when you reopen the page.',
      );
    const ckpt = await pickCheckpoint(db, run.id, req.which);
    const loss = await lossAtStep(db, run.id, ckpt.step);
    if (exportFormat(req.format).needsModel === 'weights') {
      const onnx = req.format === 'onnx' ? (req.onnx ?? { variants: ['q4'], adapterMode: 'merged' }) : undefined;
      return exportModel(req.format, run, ckpt, req.which, loss, dir, onProgress, onnx);
    }
    const desc = await cachedDescription(run.model);
    const out = await adapterExport({
      run,
      checkpoint: ckpt,
      which: req.which,
      format: req.format,
      dtype: req.dtype,
      loss,
      desc,
    });
    if (dir) {
      const folder = await writeFolder(dir, out.folder, out.files);
      return { files: fileInfos(folder, out.files), zip: null };
    }
    return { files: fileInfos(out.folder, out.files), zip: zipExport(out.folder, out.files) };
  }, 'Reload the page and try again; if it repeats, report this message.');
  // The zip's bytes move to the page instead of being copied.
  return result.ok && result.value.zip ? transfer(result, [result.value.zip.buffer]) : result;
}

export const exportApi: Pick<EngineApi, 'exportRun' | 'cancelExport'> = {
  exportRun,
  cancelExport: () => {
    cancelRequested = true;
  },
};
