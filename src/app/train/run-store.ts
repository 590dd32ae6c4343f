/**
 * The Train page's state, at module level so a run keeps streaming while the user visits other sections: the runs in
 * IndexedDB, the one this tab is training, the history of the run in view, and the latest progress. After a reload,
 * the run that was training (now "interrupted") resumes by itself from its newest checkpoint — unless it never finished
 * a step or its previous attempt failed: then the page asks first (the run may be one that cannot make progress).
 */
import { proxy } from 'comlink';
import type { EngineError, GpuMemoryNow, RunInfo, RunMetric, TrainEvent, TrainRequest } from '../../worker/contract.ts';
import { persistedValue, selectedRun } from '../app-state.ts';
import { createStore } from '../data/store.ts';
import { engine } from '../engine.ts';

export interface TrainState {
  loaded: boolean;
  runs: RunInfo[];
  /** The run this tab is training (running or paused), if any. */
  activeId: string | null;
  /** The run whose charts are shown. */
  viewId: string | null;
  metrics: RunMetric[];
  phase: string | null;
  etaMs: number | null;
  gpu: GpuMemoryNow | null;
  tokensPerSec: number | null;
  /** The newest step the active run reported. */
  liveStep: number | null;
  /** An error of the last action, shown next to the controls. */
  error: EngineError | null;
  /** Set when this page resumed an interrupted run by itself. */
  resumedAfterReload: { runId: string; step: number } | null;
  /** An interrupted run this page did not resume by itself, and why: the Train page offers to resume it. */
  resumeOffer: { runId: string; step: number; reason: 'no-step' | 'failed' } | null;
}

export const trainStore = createStore<TrainState>({
  loaded: false,
  runs: [],
  activeId: null,
  viewId: null,
  metrics: [],
  phase: null,
  etaMs: null,
  gpu: null,
  tokensPerSec: null,
  liveStep: null,
  error: null,
  resumedAfterReload: null,
  resumeOffer: null,
});

const patch = (p: Partial<TrainState>) => trainStore.set((s) => ({ ...s, ...p }));

function upsert(run: RunInfo): void {
  trainStore.set((s) => {
    const runs = s.runs.some((r) => r.id === run.id)
      ? s.runs.map((r) => (r.id === run.id ? run : r))
      : [run, ...s.runs];
    return { ...s, runs };
  });
}

function onEvent(e: TrainEvent): void {
  switch (e.type) {
    case 'run':
      upsert(e.run);
      if (trainStore.get().activeId === null && (e.run.status === 'running' || e.run.status === 'paused'))
        patch({ activeId: e.run.id });
      if (trainStore.get().viewId === null) view(e.run.id);
      break;
    case 'phase':
      patch({ phase: e.detail === 'paused' ? 'paused' : e.phase });
      break;
    case 'metric': {
      const s = trainStore.get();
      const p: Partial<TrainState> = { gpu: e.gpu };
      if (e.metric.kind === 'step')
        Object.assign(p, { etaMs: e.etaMs, tokensPerSec: e.metric.tokensPerSec, liveStep: e.metric.step });
      if (s.viewId === s.activeId) p.metrics = [...s.metrics, e.metric];
      patch(p);
      break;
    }
    case 'checkpoint':
      break;
  }
}

/** The call training a run from this tab, while one is; a delete of that run waits for it to stop. */
let driving: Promise<void> | null = null;

function drive(
  id: string | null,
  call: () => Promise<{ ok: true; value: RunInfo } | { ok: false; error: EngineError }>,
): Promise<void> {
  patch({
    activeId: id,
    error: null,
    phase: 'starting',
    etaMs: null,
    tokensPerSec: null,
    liveStep: null,
    resumeOffer: null,
  });
  const done = (async () => {
    const r = await call();
    patch({ activeId: null, phase: null, etaMs: null });
    if (r.ok) upsert(r.value);
    else patch({ error: r.error });
    await refreshRuns();
  })();
  driving = done;
  void done.finally(() => {
    if (driving === done) driving = null;
  });
  return done;
}

export async function refreshRuns(): Promise<void> {
  const r = await engine().listRuns();
  if (r.ok) patch({ runs: r.value, loaded: true });
  else patch({ error: r.error, loaded: true });
}

export async function view(runId: string | null): Promise<void> {
  patch({ viewId: runId, metrics: [] });
  selectedRun.set(runId);
  if (!runId) return;
  const r = await engine().runMetrics(runId);
  if (trainStore.get().viewId !== runId) return;
  if (r.ok) {
    // Points streamed while the history was read are already in r.value (they are stored before they are sent).
    patch({ metrics: r.value });
  } else patch({ error: r.error });
}

export function startRun(req: TrainRequest): Promise<void> {
  patch({ viewId: null, metrics: [] });
  return drive(null, () => engine().startRun(req, proxy(onEvent)));
}

export async function resumeRun(runId: string): Promise<void> {
  await view(runId);
  // The history after the checkpoint is recomputed: show it again from the stored points once the worker trimmed it.
  await drive(runId, () =>
    engine().resumeRun(
      runId,
      proxy((e: TrainEvent) => {
        if (e.type === 'phase' && e.phase === 'training' && trainStore.get().viewId === runId)
          void reloadMetrics(runId);
        onEvent(e);
      }),
    ),
  );
}

let reloaded = new Set<string>();
async function reloadMetrics(runId: string): Promise<void> {
  if (reloaded.has(runId)) return;
  reloaded.add(runId);
  const r = await engine().runMetrics(runId);
  if (r.ok && trainStore.get().viewId === runId) patch({ metrics: r.value });
}

export const pauseRun = () => {
  void engine().pauseRun();
  patch({ phase: 'pausing' });
};
export const continueRun = () => void engine().continueRun();
export const stopRun = () => {
  void engine().stopRun();
  patch({ phase: 'stopping' });
};

/** Deletes a run with its checkpoints; a run this tab is training is stopped first. */
export async function deleteRun(runId: string): Promise<void> {
  if (trainStore.get().activeId === runId) {
    stopRun();
    await driving;
  }
  if (trainStore.get().resumeOffer?.runId === runId) patch({ resumeOffer: null });
  const r = await engine().deleteRun(runId);
  if (!r.ok) patch({ error: r.error });
  if (trainStore.get().viewId === runId) await view(null);
  await refreshRuns();
}

let booted = false;
/** Loads the runs once per page; resumes the run a reload interrupted. */
export async function bootTraining(): Promise<void> {
  if (booted) return;
  booted = true;
  // Closing or reloading the tab while training asks first (a reload resumes from the newest checkpoint only).
  addEventListener('beforeunload', (e) => {
    if (trainStore.get().activeId === null) return;
    e.preventDefault();
    e.returnValue = '';
  });
  reloaded = new Set();
  await refreshRuns();
  // Right after a reload the closed page's worker may still hold its run's lock for a moment: look again shortly.
  for (
    let i = 0;
    i < 5 && trainStore.get().runs.some((r) => r.status === 'running' && r.id !== trainStore.get().activeId);
    i++
  ) {
    await new Promise((r) => setTimeout(r, 1000));
    await refreshRuns();
  }
  const s = trainStore.get();
  const wanted = await persistedValue(selectedRun);
  const interrupted =
    s.runs.find((r) => r.status === 'interrupted' && r.id === wanted) ?? s.runs.find((r) => r.status === 'interrupted');
  const shown = wanted && s.runs.some((r) => r.id === wanted) ? wanted : (s.runs[0]?.id ?? null);
  if (interrupted && (interrupted.step === 0 || interrupted.error !== null)) {
    // Never finished a step (no checkpoint to go on from), or the last attempt failed: ask, do not retry by itself.
    patch({
      resumeOffer: {
        runId: interrupted.id,
        step: interrupted.step,
        reason: interrupted.step === 0 ? 'no-step' : 'failed',
      },
    });
    await view(interrupted.id);
  } else if (interrupted) {
    patch({ resumedAfterReload: { runId: interrupted.id, step: interrupted.step } });
    await resumeRun(interrupted.id);
  } else if (shown) await view(shown);
}
