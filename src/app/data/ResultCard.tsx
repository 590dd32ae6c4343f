/**
 * What an import found: detected format(s), counts and split sizes, problems with file and line,
 * skipped files, the pairs mapping, token lengths, a preview, and naming + saving the dataset.
 */
import type { SourceSummary } from '../../schema/dataset.ts';
import { clearImport, type ImportState, saveImport, setName, settingsKey, startImport } from './import-store.ts';
import { MappingEditor } from './MappingEditor.tsx';
import { ProblemList } from './ProblemList.tsx';
import { RecordPreview } from './RecordPreview.tsx';
import { TokenHistogram } from './TokenHistogram.tsx';
import { count, formatBytes, formatLabel, formatSeconds, plural } from './text.ts';
import type { ImportSummary } from './worker-api.ts';

function Stat({
  label,
  value,
  testId,
  tone,
}: {
  label: string;
  value: number;
  testId: string;
  tone?: 'warn' | 'muted';
}) {
  return (
    <div class={tone ? `stat ${tone}` : 'stat'}>
      <dt>{label}</dt>
      <dd data-testid={testId} data-value={value}>
        {count(value)}
      </dd>
    </div>
  );
}

function SourceTable({ sources }: { sources: SourceSummary[] }) {
  return (
    <div class="table-wrap">
      <table class="sources" data-testid="sources">
        <thead>
          <tr>
            <th scope="col">Source</th>
            <th scope="col">Format</th>
            <th scope="col" class="num">
              Rows
            </th>
            <th scope="col" class="num">
              Problems
            </th>
          </tr>
        </thead>
        <tbody>
          {sources.map((s) => (
            <tr>
              <td class="mono path" data-label="Source">
                {s.path}
                {s.presplit && <span class="badge tiny">{s.presplit}</span>}
              </td>
              <td data-label="Format">
                {s.format ? formatLabel(s.format) : <span class="muted">unreadable</span>}
                <span class="muted small">
                  {' '}
                  · {s.container}
                  {s.encoding && s.encoding !== 'utf-8' ? ` · ${s.encoding}` : ''}
                </span>
              </td>
              <td class="num" data-label="Rows">
                {count(s.rows)}
              </td>
              <td class={s.problems ? 'num warn-text' : 'num'} data-label="Problems">
                {count(s.problems)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function goToDatasets(): void {
  const title = document.getElementById('datasets-title');
  title?.scrollIntoView({ behavior: 'smooth' });
  title?.focus({ preventScroll: true });
}

export function ResultCard({
  summary,
  seconds,
  used,
  state,
}: {
  summary: ImportSummary;
  seconds: number;
  used: string;
  state: ImportState;
}) {
  const { counts } = summary;
  const stale = settingsKey(state) !== used;
  const chosen = state.chosen!;
  const empty = counts.records === 0;
  const save = state.save;
  const formats = [
    ...new Set(summary.sources.map((s) => s.format).filter((f): f is NonNullable<typeof f> => f !== null)),
  ];
  return (
    <section
      class={`card result${empty ? ' problem' : ''}`}
      aria-labelledby="result-title"
      data-testid="import-result"
      data-run={state.runs}
    >
      <div class="card-head">
        <span class={`dot ${empty ? 'bad' : counts.problems ? 'warn' : 'ok'}`} aria-hidden="true" />
        <h2 id="result-title">
          {empty ? 'Nothing could be imported' : `${plural(counts.records, 'record')} ready to save`}
        </h2>
      </div>
      <p class="muted">
        {plural(chosen.files.length, 'file')}, {formatBytes(chosen.bytes)}, read in {formatSeconds(seconds)}.{' '}
        {summary.presplit && 'The split comes from the file names (train / valid / test).'}
      </p>
      {stale && (
        <div class="note row" role="status">
          <span>The settings changed since this import.</span>
          <button type="button" class="button small" onClick={() => void startImport()} data-testid="reimport">
            Re-import with these settings
          </button>
        </div>
      )}

      <h3>Detected format</h3>
      <ul class="badges" data-testid="detected-format" data-format={summary.format}>
        <li class="badge on">{formatLabel(summary.format)}</li>
        {summary.format === 'mixed' && formats.map((f) => <li class="badge">{formatLabel(f)}</li>)}
        <li class="badge off">
          {summary.kind === 'text' ? 'text records' : summary.kind === 'chat' ? 'chat records' : 'chat + text records'}
        </li>
      </ul>
      <SourceTable sources={summary.sources} />

      <h3>Counts</h3>
      <dl class="stats" data-testid="counts">
        <Stat label="Rows read" value={counts.rowsRead} testId="count-rows" />
        <Stat label="Records" value={counts.records} testId="count-records" />
        <Stat
          label="Duplicates removed"
          value={counts.duplicates}
          testId="count-duplicates"
          tone={counts.duplicates ? 'warn' : 'muted'}
        />
        <Stat
          label="Problems"
          value={counts.problems}
          testId="count-problems"
          tone={counts.problems ? 'warn' : 'muted'}
        />
        {counts.systemPromptAdded > 0 && (
          <Stat label="System prompt added" value={counts.systemPromptAdded} testId="count-system" />
        )}
        {counts.systemFolded > 0 && (
          <Stat label="System turn folded into user" value={counts.systemFolded} testId="count-system-folded" />
        )}
        {counts.droppedTooLong + counts.noTrainedTokens > 0 && (
          <Stat
            label="Too long, left out"
            value={counts.droppedTooLong + counts.noTrainedTokens}
            testId="count-dropped"
            tone="warn"
          />
        )}
        {counts.untrainable > 0 && (
          <Stat label="No token to train on" value={counts.untrainable} testId="count-untrainable" tone="warn" />
        )}
        {counts.truncated > 0 && (
          <Stat label="Cut to max length" value={counts.truncated} testId="count-truncated" tone="warn" />
        )}
      </dl>
      <dl class="stats" aria-label="Split sizes">
        <Stat label="Train" value={counts.train} testId="count-train" />
        <Stat label="Validation" value={counts.valid} testId="count-valid" />
        <Stat label="Test" value={counts.test} testId="count-test" tone={counts.test ? undefined : 'muted'} />
      </dl>
      {summary.warnings.map((w) => (
        <p class="note">{w[0]!.toUpperCase() + w.slice(1)}.</p>
      ))}
      {empty ? (
        <>
          {summary.refusal && (
            <p class="error-text" role="alert" data-testid="refusal">
              Nothing to train on: {summary.refusal}.
            </p>
          )}
          <p class="hint">
            <strong>What to do: </strong>
            fix the problems listed below (or pick the format under Import settings), then choose the files again.
          </p>
        </>
      ) : save.state === 'saved' ? (
        <div class="saved" role="status" data-testid="saved">
          <span class="dot ok" aria-hidden="true" /> Saved as “{save.meta.name}”. It is in Your datasets below and stays
          after a reload.
          <button type="button" class="button small" onClick={clearImport}>
            Import another
          </button>
        </div>
      ) : (
        <form
          class="save-row"
          onSubmit={(e) => {
            e.preventDefault();
            void saveImport();
          }}
        >
          <div class="field grow">
            <label for="dataset-name">Dataset name</label>
            <input
              id="dataset-name"
              value={state.name}
              maxLength={120}
              onInput={(e) => setName(e.currentTarget.value)}
              data-testid="dataset-name"
            />
          </div>
          <div class="actions">
            <button type="submit" class="button primary" disabled={save.state === 'saving'} data-testid="save-dataset">
              {save.state === 'saving' ? 'Saving…' : 'Save dataset'}
            </button>
            <button type="button" class="button subtle" onClick={clearImport}>
              Discard
            </button>
          </div>
          {save.state === 'failed' && (
            <p class="error-text wide" role="alert" data-testid="save-error">
              {save.message}
              {save.quota && (
                <>
                  {' '}
                  <button type="button" class="link" onClick={goToDatasets}>
                    Go to your datasets
                  </button>
                </>
              )}
            </p>
          )}
        </form>
      )}

      <ProblemList problems={summary.problems} total={counts.problems} />
      {summary.skipped.length > 0 && (
        <details data-testid="skipped">
          <summary>{plural(summary.skipped.length, 'file')} skipped</summary>
          <ul class="plain small">
            {summary.skipped.map((s) => (
              <li>
                <span class="mono path">{s.path}</span> <span class="muted">— {s.reason}</span>
              </li>
            ))}
          </ul>
        </details>
      )}
      <MappingEditor sources={summary.sources} state={state} />
      {summary.tokens && <TokenHistogram tokens={summary.tokens} maxLength={summary.settings.maxLength} />}
      <RecordPreview records={summary.preview} />
    </section>
  );
}
