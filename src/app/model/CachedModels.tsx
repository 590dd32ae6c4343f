import { useState } from 'preact/hooks';
import type { CachedModelInfo, EngineError } from '../../worker/contract.ts';
import { engine } from '../engine.ts';
import { formatBytes, formatCount } from '../format.ts';

export function CachedModels({
  models,
  onChange,
}: {
  models: CachedModelInfo[] | EngineError | null;
  onChange: () => void;
}) {
  const [opened, setOpened] = useState<Record<string, string>>({});
  const open = async (m: CachedModelInfo) => {
    const r = await engine().openCached(m.repo, m.revision);
    const text = r.ok
      ? `${r.value.arch}, ${formatCount(r.value.parameters)} parameters${r.value.tokenizer ? ', tokenizer included' : ', no tokenizer.json'}; ` +
        `loaded onto the GPU: ${r.value.tensors} tensors, ${formatBytes(r.value.gpuBytes)} in ${(r.value.ms / 1000).toFixed(1)} s` +
        (r.value.notes.length ? `; ${r.value.notes.join('; ')}` : '')
      : `${r.error.message} ${r.error.hint}`;
    setOpened({ ...opened, [`${m.repo}@${m.revision}`]: text });
  };
  const remove = async (m: CachedModelInfo) => {
    if (!confirm(`Delete ${m.repo} (${formatBytes(m.bytes)}) from this browser's cache?`)) return;
    await engine().deleteCached(m.repo, m.revision);
    onChange();
  };
  return (
    <section
      class="card"
      aria-labelledby="cached-title"
      data-testid="cached-models"
      data-state={models === null ? 'reading' : 'ready'}
    >
      <h2 id="cached-title">Models in this browser</h2>
      {models === null ? (
        <p class="muted">Reading the cache…</p>
      ) : 'message' in models ? (
        <p class="error">
          {models.message} <span class="muted">{models.hint}</span>
        </p>
      ) : models.length === 0 ? (
        <p class="muted">None yet. Download one above; it stays here for offline use.</p>
      ) : (
        <table class="data-table reflow">
          <thead>
            <tr>
              <th scope="col">Repository</th>
              <th scope="col">Size</th>
              <th scope="col">Downloaded</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {models.map((m) => {
              const key = `${m.repo}@${m.revision}`;
              return (
                <tr data-testid="cached-row">
                  <td>
                    <strong>{m.repo}</strong>
                    {m.revision !== 'main' && <span class="muted"> @{m.revision}</span>}
                    {opened[key] && (
                      <div class="muted" data-testid="cached-detail">
                        {opened[key]}
                      </div>
                    )}
                  </td>
                  <td class="nowrap" data-label="Size">
                    {formatBytes(m.bytes)}
                  </td>
                  <td class="nowrap" data-label="Downloaded">
                    {new Date(m.completedAt).toLocaleDateString()}
                  </td>
                  <td>
                    <div class="row-actions">
                      <button type="button" onClick={() => void open(m)}>
                        Open
                      </button>
                      <button
                        type="button"
                        class="danger"
                        onClick={() => void remove(m)}
                        aria-label={`Delete ${m.repo}`}
                      >
                        Delete
                      </button>
                    </div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
