/**
 * The engine worker's shared state: the one GPU runtime (re-acquired after a device loss), the error shape the UI
 * shows, the browser's model cache, and which long task owns the GPU right now (training and chat do not overlap).
 */
import { GpuError } from '../gpu/errors.ts';
import { GpuRuntime } from '../gpu/runtime.ts';
import { OpfsStore } from '../storage/opfs-store.ts';
import type { EngineError, Result } from './contract.ts';

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
