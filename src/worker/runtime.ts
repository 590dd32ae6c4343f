/**
 * The engine worker's shared state: the one GPU runtime (re-acquired after a device loss), the error shape the UI
 * shows, the browser's model cache, the worker's one connection to the app database, and which long task owns the
 * GPU right now (training and chat do not overlap). Every module of the worker takes these from here.
 */
import { GpuError } from '../gpu/errors.ts';
import { GpuRuntime } from '../gpu/runtime.ts';
import { cacheDir, readCachedModel } from '../model/download.ts';
import { FilesModelSource } from '../model/source.ts';
import { type AppDatabase, openAppDb } from '../storage/db.ts';
import { OpfsStore } from '../storage/opfs-store.ts';
import type { EngineError, ModelRef, Result } from './contract.ts';

let runtime: Promise<GpuRuntime> | undefined;

export function getRuntime(): Promise<GpuRuntime> {
  runtime ??= GpuRuntime.create(self.navigator.gpu, { label: 'engine', debug: import.meta.env.DEV }).then((rt) => {
    // A lost device must be re-acquired on the next call.
    void rt.ctx.lost.then(() => {
      runtime = undefined;
    });
    return rt;
  });
  runtime.catch(() => {
    runtime = undefined;
  });
  return runtime;
}

export function toEngineError(
  err: unknown,
  hint = 'Reload the page; if it repeats, report this message.',
): EngineError {
  if (err instanceof GpuError)
    return { kind: err.kind, message: err.message.replace(err.hint, '').trim(), hint: err.hint };
  return { kind: 'unknown', message: err instanceof Error ? err.message : String(err), hint };
}

export function failure(err: unknown, hint?: string): { ok: false; error: EngineError } {
  return { ok: false, error: toEngineError(err, hint) };
}

/** Runs `fn`, turning any exception into a failed Result. */
export async function attempt<T>(fn: () => Promise<T>, hint?: string): Promise<Result<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    return failure(err, hint);
  }
}

let store: OpfsStore | undefined;
/** The browser's model cache (OPFS). */
export const opfs = (): OpfsStore => (store ??= new OpfsStore());

/** A cached model's files as a model source (reads lazily from OPFS; works offline). */
export async function cachedModelSource(ref: ModelRef): Promise<FilesModelSource> {
  const m = await readCachedModel(opfs(), ref);
  if (!m)
    throw new Error(`${ref.repo} is not completely in this browser's cache; download it again on the Model page.`);
  const dir = cacheDir(ref);
  const files = new Map<string, Blob>();
  for (const f of m.files) files.set(f.path, await opfs().blob(`${dir}/${f.path}`));
  return new FilesModelSource(files, ref.repo);
}

let dbPromise: Promise<AppDatabase> | undefined;
/** The worker's one connection to the app database (runs, metrics and checkpoints; training writes them, chat and export read them); a failed open is retried on the next call. */
export function workerDb(): Promise<AppDatabase> {
  dbPromise ??= openAppDb().catch((err: unknown) => {
    dbPromise = undefined;
    throw err;
  });
  return dbPromise;
}

/** The long task that holds the GPU: training, chat or export. */
let busy: { task: string } | null = null;

/** Claims the GPU for a long task or says which task has it. */
export function claimGpu(task: string): () => void {
  if (busy) throw new Error(`The GPU is busy with ${busy.task}; wait for it to finish or stop it first.`);
  const mine = { task };
  busy = mine;
  return () => {
    if (busy === mine) busy = null;
  };
}

export function gpuTask(): string | null {
  return busy?.task ?? null;
}
