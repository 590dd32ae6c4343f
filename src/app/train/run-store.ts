/**
 * The Train page's state, at module level so a run keeps streaming while the user visits other sections: the runs in
 * IndexedDB, the one this tab is training, the history of the run in view, and the latest progress. After a reload,
 * the run that was training (now "interrupted") resumes by itself from its newest checkpoint.
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
  /** An error of the last action, shown next to the controls. */
  error: EngineError | null;
  /** Set when this page resumed an interrupted run by itself. */
  resumedAfterReload: { runId: string; step: number } | null;
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
  error: null,
  resumedAfterReload: null,
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
      if (e.metric.kind === 'step') Object.assign(p, { etaMs: e.etaMs, tokensPerSec: e.metric.tokensPerSec });
      if (s.viewId === s.activeId) p.metrics = [...s.metrics, e.metric];
      patch(p);
      break;
    }
    case 'checkpoint':
      break;
  }
}

async function drive(
  id: string | null,
  call: () => Promise<{ ok: true; value: RunInfo } | { ok: false; error: EngineError }>,
): Promise<void> {
  patch({ activeId: id, error: null, phase: 'starting', etaMs: null, tokensPerSec: null });
  const r = await call();
  patch({ activeId: null, phase: null, etaMs: null });
  if (r.ok) upsert(r.value);
  else patch({ error: r.error });
  await refreshRuns();
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

export async function deleteRun(runId: string): Promise<void> {
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
  if (interrupted) {
    patch({ resumedAfterReload: { runId: interrupted.id, step: interrupted.step } });
    await resumeRun(interrupted.id);
  } else if (shown) await view(shown);
}
