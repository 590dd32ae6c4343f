/** The run in view: status, progress, the numbers that matter while training, and pause / resume / stop. */
import type { RunInfo } from '../../worker/contract.ts';
import { formatBytes, formatDuration } from '../format.ts';
import { RunCharts } from './Charts.tsx';
import { continueRun, pauseRun, resumeRun, stopRun, type TrainState } from './run-store.ts';
import { ScaleOutButton } from './ScaleOut.tsx';
import { SamplesList } from './SamplesList.tsx';

const STATUS_TEXT: Record<RunInfo['status'], string> = {
  running: 'Training',
  paused: 'Paused',
  stopped: 'Stopped',
  done: 'Finished',
  failed: 'Stopped by an error',
  interrupted: 'Interrupted (page closed or reloaded)',
};

const PHASE_TEXT: Record<string, string> = {
  starting: 'Starting…',
  'loading-model': 'Loading the model onto the GPU…',
  'preparing-data': 'Tokenizing the dataset…',
  restoring: 'Restoring the last checkpoint…',
  training: 'Training',
  evaluating: 'Measuring the validation loss…',
  sampling: 'Generating samples…',
  checkpointing: 'Saving a checkpoint…',
  pausing: 'Pausing after this step…',
  paused: 'Paused',
  stopping: 'Stopping after this step…',
};

const fmt = (x: number | null | undefined, digits = 4) =>
  x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits);

export function RunPanel({ run, state }: { run: RunInfo; state: TrainState }) {
  const active = state.activeId === run.id;
  const status = active && state.phase === 'paused' ? 'paused' : run.status;
  const lastStep = [...state.metrics].reverse().find((m) => m.kind === 'step');
  const pct = run.totalSteps > 0 ? (100 * run.step) / run.totalSteps : 0;
  const elapsed = lastStep?.kind === 'step' ? lastStep.elapsedMs / 1000 : null;
  return (
    <section
      class="card run-panel"
      aria-labelledby="run-title"
      data-testid="run-panel"
      data-status={status}
      data-step={run.step}
    >
      <div class="card-head">
        <span class={`dot ${status === 'failed' ? 'bad' : status === 'done' ? 'ok' : 'live'}`} aria-hidden="true" />
        <h2 id="run-title">{run.name}</h2>
      </div>
      <p class="muted run-sub">
        {run.model.repo} · {run.datasetName} · rank {run.config.lora.rank}, alpha {run.config.lora.alpha},{' '}
        {run.config.base === 'none' ? 'unquantized' : run.config.base} base
      </p>
      {state.resumedAfterReload?.runId === run.id && (
        <p class="note" role="status" data-testid="resumed-note">
          This run was interrupted when the page closed at step {state.resumedAfterReload.step}; it resumed from its
          last checkpoint.
        </p>
      )}
      {state.resumeOffer?.runId === run.id && (
        <p class="note" role="status" data-testid="resume-offer">
          {state.resumeOffer.reason === 'no-step'
            ? 'This run was interrupted before it finished its first step, so it was not restarted by itself. ' +
              'Check its settings (a smaller rank, micro-batch or maximum length trains faster), then resume or delete it.'
            : `This run was interrupted at step ${state.resumeOffer.step} after an earlier attempt failed, so it was not ` +
              'restarted by itself. Resume it from its last checkpoint, or delete it.'}
        </p>
      )}
      <div class="run-status" role="status" aria-live="polite" data-testid="run-status">
        <strong>{!active && status === 'running' ? 'Training in another tab of this app' : STATUS_TEXT[status]}</strong>
        {active && state.phase && state.phase !== 'training' && (
          <span class="muted"> — {PHASE_TEXT[state.phase] ?? state.phase}</span>
        )}
      </div>
      <div
        class="progress"
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={run.totalSteps || 1}
        aria-valuenow={run.step}
        aria-label="Training progress"
      >
        <div class="bar" style={{ width: `${pct}%` }} />
      </div>
      <dl class="stats">
        <div>
          <dt>Step</dt>
          <dd data-testid="run-step">
            {run.step} / {run.totalSteps || '—'}
          </dd>
        </div>
        <div>
          <dt>Loss</dt>
          <dd data-testid="run-loss">{fmt(run.lastLoss)}</dd>
        </div>
        <div>
          <dt>Validation loss</dt>
          <dd>{fmt(run.lastValLoss)}</dd>
        </div>
        <div>
          <dt>Best validation</dt>
          <dd>{run.bestValLoss === null ? '—' : `${fmt(run.bestValLoss)} (step ${run.bestStep})`}</dd>
        </div>
        <div>
          <dt>Learning rate</dt>
          <dd>{lastStep?.kind === 'step' ? lastStep.lr.toExponential(2) : '—'}</dd>
        </div>
        <div>
          <dt>Gradient norm</dt>
          <dd>{lastStep?.kind === 'step' ? fmt(lastStep.gradNorm, 3) : '—'}</dd>
        </div>
        <div>
          <dt>Tokens/s</dt>
          <dd data-testid="run-speed">
            {active && state.tokensPerSec !== null ? Math.round(state.tokensPerSec).toLocaleString() : '—'}
          </dd>
        </div>
        <div>
          <dt>Elapsed · ETA</dt>
          <dd>
            {formatDuration(elapsed)} ·{' '}
            {active ? formatDuration(state.etaMs === null ? null : state.etaMs / 1000) : '—'}
          </dd>
        </div>
        <div>
          <dt>GPU memory</dt>
          <dd>
            {active && state.gpu
              ? `${formatBytes(state.gpu.liveBytes)} (peak ${formatBytes(state.gpu.peakBytes)})`
              : '—'}
          </dd>
        </div>
        <div>
          <dt>Epoch</dt>
          <dd>{lastStep?.kind === 'step' ? lastStep.epoch.toFixed(2) : '—'}</dd>
        </div>
      </dl>
      {run.status === 'failed' && run.error && (
        <div class="hint" role="alert" data-testid="run-error">
          <strong>{run.error.message}</strong>
          <p>{run.error.hint}</p>
        </div>
      )}
      <div class="actions">
        {active && status !== 'paused' && (
          <button type="button" onClick={pauseRun} disabled={state.phase === 'pausing' || state.phase === 'stopping'}>
            Pause
          </button>
        )}
        {active && status === 'paused' && (
          <button type="button" class="primary" onClick={continueRun}>
            Resume
          </button>
        )}
        {active && (
          <button type="button" class="danger" onClick={stopRun} disabled={state.phase === 'stopping'}>
            Stop
          </button>
        )}
        {!active &&
          (run.status === 'stopped' ||
            run.status === 'failed' ||
            run.status === 'interrupted' ||
            run.status === 'paused') && (
            <button
              type="button"
              class="primary"
              onClick={() => void resumeRun(run.id)}
              disabled={state.activeId !== null}
            >
              Resume from last checkpoint
            </button>
          )}
        {!active && run.status === 'done' && (
          <>
            <a class="button-link" href="#/try">
              Try it →
            </a>
            <a class="button-link" href="#/export">
              Export →
            </a>
          </>
        )}
      </div>
      {!active && run.datasetId !== '' && <ScaleOutButton run={run} />}
      <RunCharts metrics={state.metrics} />
      <SamplesList metrics={state.metrics} />
    </section>
  );
}
