/** The datasets kept in this browser: name, format, counts, date; Rename, Export JSONL, Delete (with a confirmation). */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { DatasetMeta } from '../../schema/dataset.ts';
import { datasetsStore, exportDataset, remove, rename } from './datasets-store.ts';
import { useStore } from './store.ts';
import { count, formatDate, formatLabel, plural } from './text.ts';

type Mode = 'view' | 'rename' | 'confirm-delete';

function DatasetRow({ meta }: { meta: DatasetMeta }) {
  const [mode, setMode] = useState<Mode>('view');
  const [draft, setDraft] = useState(meta.name);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const nameInput = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (mode === 'rename') nameInput.current?.select();
  }, [mode]);

  const act = async (what: string, fn: () => Promise<string | null>, after: Mode = 'view') => {
    setBusy(what);
    setError(null);
    const err = await fn();
    setBusy(null);
    if (err) setError(err);
    else setMode(after);
  };
  const c = meta.counts;
  return (
    <li class="dataset" data-testid="dataset-row" data-name={meta.name} data-id={meta.id}>
      <div class="dataset-main">
        {mode === 'rename' ? (
          <form
            class="rename-row"
            onSubmit={(e) => {
              e.preventDefault();
              void act('rename', () => rename(meta.id, draft));
            }}
          >
            <label class="visually-hidden" for={`rename-${meta.id}`}>
              New name for {meta.name}
            </label>
            <input
              id={`rename-${meta.id}`}
              ref={nameInput}
              value={draft}
              maxLength={120}
              onInput={(e) => setDraft(e.currentTarget.value)}
              data-testid="rename-input"
            />
            <button type="submit" class="button small primary" disabled={busy !== null}>
              Save name
            </button>
            <button
              type="button"
              class="button small subtle"
              onClick={() => (setMode('view'), setDraft(meta.name), setError(null))}
            >
              Cancel
            </button>
          </form>
        ) : (
          <h3 class="dataset-name" data-testid="dataset-name-text">
            {meta.name}
          </h3>
        )}
        <ul class="badges">
          <li class="badge on">{formatLabel(meta.format)}</li>
          {meta.presplit && <li class="badge off">split from files</li>}
          {meta.counts.problems > 0 && <li class="badge warn">{plural(meta.counts.problems, 'problem')} at import</li>}
        </ul>
        <p class="muted small dataset-counts" data-testid="dataset-counts">
          {plural(c.records, 'record')} · train {count(c.train)} · validation {count(c.valid)}
          {c.test ? ` · test ${count(c.test)}` : ''}
          {meta.tokens ? ` · ${count(meta.tokens.totalTokens)} tokens` : ''} · imported {formatDate(meta.createdAt)}
        </p>
      </div>
      {mode === 'confirm-delete' ? (
        <div class="confirm" role="alertdialog" aria-label={`Delete ${meta.name}?`}>
          <span>
            Delete “{meta.name}” and its {plural(c.records, 'record')}? This cannot be undone.
          </span>
          <div class="actions">
            <button
              type="button"
              class="button small danger"
              disabled={busy !== null}
              onClick={() => void act('delete', () => remove(meta.id))}
              data-testid="confirm-delete"
            >
              {busy === 'delete' ? 'Deleting…' : 'Delete'}
            </button>
            <button type="button" class="button small subtle" onClick={() => setMode('view')}>
              Keep it
            </button>
          </div>
        </div>
      ) : (
        mode === 'view' && (
          <div class="actions dataset-actions">
            <button
              type="button"
              class="button small"
              onClick={() => (setDraft(meta.name), setMode('rename'))}
              aria-label={`Rename ${meta.name}`}
            >
              Rename
            </button>
            <button
              type="button"
              class="button small"
              disabled={busy !== null}
              onClick={() => void act('export', () => exportDataset(meta))}
              aria-label={`Export ${meta.name} as JSONL`}
              data-testid="export-jsonl"
            >
              {busy === 'export' ? 'Exporting…' : 'Export JSONL'}
            </button>
            <button
              type="button"
              class="button small danger-outline"
              onClick={() => setMode('confirm-delete')}
              aria-label={`Delete ${meta.name}`}
            >
              Delete
            </button>
          </div>
        )
      )}
      {error && (
        <p class="error-text wide" role="alert">
          {error}
        </p>
      )}
    </li>
  );
}

export function StoredDatasets() {
  const state = useStore(datasetsStore);
  return (
    <section class="card" aria-labelledby="datasets-title" data-testid="stored-datasets">
      <div class="card-head">
        <h2 id="datasets-title" tabIndex={-1}>
          Your datasets
        </h2>
        {state.state === 'ready' && state.list.length > 0 && (
          <span class="muted">{plural(state.list.length, 'dataset')} in this browser</span>
        )}
      </div>
      {state.state === 'loading' && <p class="muted">Loading the datasets kept in this browser…</p>}
      {state.state === 'failed' && (
        <p class="hint" role="alert">
          {state.message}
        </p>
      )}
      {state.state === 'ready' &&
        (state.list.length === 0 ? (
          <p class="muted empty" data-testid="no-datasets">
            No datasets saved yet. Import one above and press <strong>Save dataset</strong>; it stays here after a
            reload.
          </p>
        ) : (
          <ul class="datasets">
            {state.list.map((m) => (
              <DatasetRow key={m.id} meta={m} />
            ))}
          </ul>
        ))}
    </section>
  );
}
