/** The Train section: set up a run, watch it (charts, numbers, samples), pause / resume / stop, and past runs. */
import { useEffect } from 'preact/hooks';
import { useStore } from '../data/store.ts';
import { NewRun } from './NewRun.tsx';
import { RunPanel } from './RunPanel.tsx';
import { RunsHistory } from './RunsHistory.tsx';
import { ImportAdapter } from './ScaleOut.tsx';
import { bootTraining, trainStore } from './run-store.ts';

export function TrainPage() {
  const state = useStore(trainStore);
  useEffect(() => void bootTraining(), []);
  const run = state.runs.find((r) => r.id === state.viewId) ?? null;
  return (
    <div class="train-page" data-testid="train-page">
      {state.error && (
        <div class="card problem" role="alert" data-testid="train-error">
          <strong>{state.error.message}</strong>
          <p class="muted">{state.error.hint}</p>
        </div>
      )}
      {state.activeId !== null && !run && (
        <section class="card" role="status">
          <p class="muted">Starting the run…</p>
        </section>
      )}
      {run && <RunPanel run={run} state={state} />}
      {state.activeId === null && state.phase === null && <NewRun state={state} collapsed={run !== null} />}
      <RunsHistory state={state} />
      {state.activeId === null && <ImportAdapter />}
    </div>
  );
}
