/** A labelled picker of training runs: the model's own runs first, runs of other models in their own group. */
import type { ModelRef, RunInfo } from '../../worker/contract.ts';
import type { Loaded } from '../loaded.ts';

const STATUS: Record<RunInfo['status'], string> = {
  running: 'training',
  paused: 'paused',
  stopped: 'stopped',
  done: 'done',
  failed: 'failed',
  interrupted: 'interrupted',
};

export function runLabel(r: RunInfo): string {
  return `${r.name} · step ${r.step}/${r.totalSteps} · ${STATUS[r.status]}`;
}

export function RunSelect(props: {
  runs: Loaded<RunInfo[]>;
  /** Runs of this model come first; null lists all runs in one group. */
  model: ModelRef | null;
  value: string | null;
  disabled?: boolean;
  /** Offer "Base model only" (value null). */
  allowNone?: boolean;
  id?: string;
  label?: string;
  onChange: (runId: string | null) => void;
}) {
  const { runs, model } = props;
  const id = props.id ?? 'try-run';
  const list = runs.state === 'ok' ? runs.value : [];
  const mine = model ? list.filter((r) => r.model.repo === model.repo && r.model.revision === model.revision) : list;
  const others = model ? list.filter((r) => !mine.includes(r)) : [];
  const allowNone = props.allowNone ?? true;
  return (
    <div class="field">
      <label for={id}>{props.label ?? 'Adapter'}</label>
      <select
        id={id}
        data-testid={id}
        value={props.value ?? ''}
        disabled={props.disabled || runs.state !== 'ok'}
        aria-describedby={runs.state === 'error' ? `${id}-error` : undefined}
        onChange={(e) => props.onChange(e.currentTarget.value || null)}
      >
        {runs.state === 'loading' && <option value="">Reading the runs…</option>}
        {allowNone && runs.state !== 'loading' && <option value="">Base model only (no adapter)</option>}
        {!allowNone && runs.state === 'ok' && list.length === 0 && <option value="">No runs yet</option>}
        {mine.length > 0 && model && others.length > 0 ? (
          <optgroup label={`Runs on ${model.repo}`}>
            {mine.map((r) => (
              <option value={r.id}>{runLabel(r)}</option>
            ))}
          </optgroup>
        ) : (
          mine.map((r) => <option value={r.id}>{runLabel(r)}</option>)
        )}
        {others.length > 0 && (
          <optgroup label="Runs on other models">
            {others.map((r) => (
              <option value={r.id}>
                {runLabel(r)} ({r.model.repo})
              </option>
            ))}
          </optgroup>
        )}
      </select>
      {runs.state === 'error' && (
        <p class="error-text" id={`${id}-error`} role="alert">
          {runs.error.message} {runs.error.hint}
        </p>
      )}
    </div>
  );
}
