/** The Data section: import a dataset (drop or pick, settings, progress, result, save) and the stored datasets. */
import { useEffect } from 'preact/hooks';
import { DropZone } from './DropZone.tsx';
import { importStore, startImport } from './import-store.ts';
import { ProgressCard } from './ProgressCard.tsx';
import { ResultCard } from './ResultCard.tsx';
import { SettingsPanel } from './SettingsPanel.tsx';
import { StoredDatasets } from './StoredDatasets.tsx';
import { refreshDatasets } from './datasets-store.ts';
import { useStore } from './store.ts';

export function DataPage() {
  const state = useStore(importStore);
  useEffect(() => {
    void refreshDatasets();
  }, []);
  const { phase } = state;
  return (
    <div class="data-page" data-testid="data-page" data-runs={state.runs}>
      <section class="card" aria-labelledby="import-title">
        <div class="card-head">
          <h2 id="import-title">Import a dataset</h2>
        </div>
        <p class="muted lead">
          Bring your training data: chat conversations, prompt/answer pairs, tables or plain text. It is checked line by
          line, split, and kept in this browser.
        </p>
        <DropZone compact={phase.state !== 'idle'} />
        {phase.state === 'idle' && phase.note && (
          <p class="note" role="status" data-testid="import-note">
            {phase.note}
          </p>
        )}
        <SettingsPanel state={state} />
      </section>

      {phase.state === 'importing' && state.chosen && (
        <ProgressCard progress={phase.progress} startedAt={phase.startedAt} chosen={state.chosen} name={state.name} />
      )}
      {phase.state === 'failed' && (
        <section class="card problem" role="alert" data-testid="import-error" data-run={state.runs}>
          <div class="card-head">
            <span class="dot bad" aria-hidden="true" />
            <h2>The import did not finish</h2>
          </div>
          <p>{phase.message}</p>
          {state.chosen && (
            <div class="actions">
              <button type="button" class="button" onClick={() => void startImport()}>
                Try again
              </button>
            </div>
          )}
        </section>
      )}
      {phase.state === 'done' && (
        <ResultCard summary={phase.summary} seconds={phase.seconds} used={phase.used} state={state} />
      )}
      <StoredDatasets />
    </div>
  );
}
