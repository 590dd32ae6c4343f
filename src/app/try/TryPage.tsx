/**
 * The "Try it" section: one prompt, answered by the base model and by the base model with a run's adapter, both
 * streaming side by side. The model and run default to the ones picked elsewhere in the app.
 */
import { useEffect, useState } from 'preact/hooks';
import type { CachedModelInfo, EngineError, ModelRef } from '../../worker/contract.ts';
import { selectedModel, selectedRun, usePersisted } from '../app-state.ts';
import { useStore } from '../data/store.ts';
import { engine } from '../engine.ts';
import { AnswerColumn } from './AnswerColumn.tsx';
import { chatStore, generateAnswers, modelKey, stopAnswers, updateForm } from './chat-store.ts';
import { OnnxAnswerColumn, OnnxCheckOptions } from './OnnxCheck.tsx';
import { onnxStore, refreshCopies, runOnnxCheck, stopOnnxCheck } from './onnx-store.ts';
import { RunSelect, runLabel } from './RunSelect.tsx';
import type { Loaded } from '../loaded.ts';

function useList<T>(
  fetch: () => Promise<{ ok: true; value: T } | { ok: false; error: EngineError }>,
): [Loaded<T>, () => void] {
  const [list, setList] = useState<Loaded<T>>({ state: 'loading' });
  const load = () => {
    fetch().then(
      (r) => setList(r.ok ? { state: 'ok', value: r.value } : { state: 'error', error: r.error }),
      (err: unknown) =>
        setList({ state: 'error', error: { kind: 'unknown', message: String(err), hint: 'Reload the page.' } }),
    );
  };
  // eslint-disable-next-line react-hooks/exhaustive-deps -- loads once on mount; the returned load() reloads on demand
  useEffect(load, []);
  return [list, load];
}

const sameRef = (a: ModelRef | null, b: ModelRef | null) =>
  Boolean(a && b && a.repo === b.repo && a.revision === b.revision);

export function TryPage() {
  const state = useStore(chatStore);
  const onnx = useStore(onnxStore);
  useEffect(() => void refreshCopies(), []);
  const [models] = useList(() => engine().cachedModels());
  const [runs] = useList(() => engine().listRuns());
  const [persistedModel, , modelLoaded] = usePersisted(selectedModel);
  const [persistedRun, , runLoaded] = usePersisted(selectedRun);
  const { form } = state;
  const cached = models.state === 'ok' ? models.value : [];
  const runList = runs.state === 'ok' ? runs.value : [];

  // Fill the pickers once from the app's persisted picks (the model of the picked run wins, so the adapter fits).
  useEffect(() => {
    if (state.initialized || !modelLoaded || !runLoaded || models.state === 'loading' || runs.state === 'loading')
      return;
    const isCached = (m: ModelRef | null) => cached.some((c) => sameRef(c, m));
    const run = runList.find((r) => r.id === persistedRun) ?? null;
    const model =
      run && isCached(run.model) ? run.model : isCached(persistedModel) ? persistedModel : (cached[0] ?? null);
    chatStore.set((s) =>
      // Functional, and only while nothing is picked: a pick the user made before this effect ran wins.
      s.initialized || s.form.model
        ? { ...s, initialized: true }
        : {
            ...s,
            initialized: true,
            form: {
              ...s.form,
              model: model ? { repo: model.repo, revision: model.revision } : null,
              runId: run && sameRef(run.model, model) ? run.id : null,
            },
          },
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps -- fills the pickers once, when everything it reads has loaded (state.initialized guards the rest)
  }, [state.initialized, modelLoaded, runLoaded, models.state, runs.state]);

  // A model deleted from the cache since: pick another.
  useEffect(() => {
    if (state.initialized && models.state === 'ok' && form.model && !cached.some((c) => sameRef(c, form.model)))
      updateForm({ model: cached[0] ? { repo: cached[0].repo, revision: cached[0].revision } : null, runId: null });
    // eslint-disable-next-line react-hooks/exhaustive-deps -- reacts to the cached-model list being reloaded, not to every form change
  }, [models.state, state.initialized]);

  const run = runList.find((r) => r.id === form.runId) ?? null;
  const pickRun = (id: string | null) => {
    const r = runList.find((x) => x.id === id) ?? null;
    // A run trained on another cached model brings its model along.
    if (r && !sameRef(r.model, form.model) && cached.some((c) => sameRef(c, r.model)))
      updateForm({ runId: id, model: { ...r.model } });
    else updateForm({ runId: id });
  };
  const onnxCopy = run ? (onnx.copies?.find((c) => c.runId === run.id) ?? null) : null;
  const withOnnx = onnxCopy !== null && onnx.enabled;
  const busy = state.busy || onnx.busy;
  const canGenerate = !busy && form.model !== null && form.prompt.trim() !== '' && form.maxNewTokens >= 1;
  const submit = () => {
    if (!canGenerate) return;
    void generateAnswers(run ? run.name : null);
    // The deployed model answers the same prompt at the same time, in its own worker.
    if (withOnnx)
      void runOnnxCheck(onnxCopy, { prompt: form.prompt, system: form.system, maxNewTokens: form.maxNewTokens });
  };
  const stop = () => {
    if (state.busy) stopAnswers();
    if (onnx.busy) stopOnnxCheck();
  };
  const showOnnx = withOnnx || (onnx.side.status !== 'idle' && onnx.shownRunId === run?.id);
  const loading = state.loadedKey !== modelKey(form.model);

  return (
    <div class="data-page try-page" data-testid="try-page">
      <section class="card" aria-labelledby="try-title">
        <div class="card-head">
          <h2 id="try-title">Try it</h2>
        </div>
        <p class="muted lead">
          Ask the base model and your fine-tuned adapter the same thing. Both answers stream side by side, token by
          token, on this GPU.
        </p>
        {models.state === 'ok' && cached.length === 0 ? (
          <p class="note" data-testid="try-no-model">
            No model is in this browser yet. <a href="#/model">Get one on the Model page</a> (download it or drop a
            folder from this computer).
          </p>
        ) : (
          <form
            class="try-form"
            onSubmit={(e) => {
              e.preventDefault();
              submit();
            }}
          >
            <div class="try-pickers">
              <div class="field">
                <label for="try-model">Model</label>
                <select
                  id="try-model"
                  data-testid="try-model"
                  value={modelKey(form.model) ?? ''}
                  disabled={busy || models.state !== 'ok'}
                  onChange={(e) => {
                    const m = cached.find((c) => modelKey(c) === e.currentTarget.value);
                    if (m)
                      updateForm({
                        model: { repo: m.repo, revision: m.revision },
                        runId: run && sameRef(run.model, m) ? run.id : null,
                      });
                  }}
                >
                  {models.state === 'loading' && <option value="">Reading the cache…</option>}
                  {cached.map((m: CachedModelInfo) => (
                    <option value={modelKey(m)!}>
                      {m.repo}
                      {m.revision !== 'main' ? ` @${m.revision}` : ''}
                    </option>
                  ))}
                </select>
              </div>
              <RunSelect runs={runs} model={form.model} value={form.runId} disabled={busy} onChange={pickRun} />
            </div>
            <OnnxCheckOptions runId={run?.id ?? null} disabled={busy} />
            {run && !sameRef(run.model, form.model) && (
              <p class="note small" role="status">
                “{run.name}” was trained on {run.model.repo}, which is not in this browser’s cache; its adapter only
                works on a model of the same shape.
              </p>
            )}
            <div class="field">
              <label for="try-system">
                System prompt <span class="muted">(optional)</span>
              </label>
              <textarea
                id="try-system"
                rows={2}
                value={form.system}
                placeholder="e.g. You are a concise assistant."
                onInput={(e) => updateForm({ system: e.currentTarget.value })}
              />
            </div>
            <div class="field">
              <label for="try-prompt">Prompt</label>
              <textarea
                id="try-prompt"
                data-testid="try-prompt"
                rows={4}
                value={form.prompt}
                aria-describedby="try-prompt-hint"
                placeholder="Ask something your training data is about…"
                onInput={(e) => updateForm({ prompt: e.currentTarget.value })}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
                    e.preventDefault();
                    submit();
                  }
                }}
              />
              <p id="try-prompt-hint" class="muted field-hint">
                Rendered with the model’s chat template. Ctrl+Enter generates.
              </p>
            </div>
            <div class="try-controls">
              <div class="field">
                <label for="try-max">Max new tokens</label>
                <input
                  id="try-max"
                  type="number"
                  min={1}
                  max={4096}
                  step={1}
                  value={form.maxNewTokens}
                  aria-describedby="try-max-hint"
                  onInput={(e) =>
                    updateForm({
                      maxNewTokens: Math.max(1, Math.min(4096, Math.floor(e.currentTarget.valueAsNumber || 1))),
                    })
                  }
                />
                <p id="try-max-hint" class="muted field-hint">
                  per answer
                </p>
              </div>
              <div class="field">
                <label for="try-temp">Temperature</label>
                <input
                  id="try-temp"
                  type="number"
                  min={0}
                  max={2}
                  step={0.1}
                  value={form.temperature}
                  aria-describedby="try-temp-hint"
                  onInput={(e) =>
                    updateForm({
                      temperature: Math.max(
                        0,
                        Math.min(2, Number.isFinite(e.currentTarget.valueAsNumber) ? e.currentTarget.valueAsNumber : 0),
                      ),
                    })
                  }
                />
                <p id="try-temp-hint" class="muted field-hint">
                  0 always picks the likeliest token
                </p>
              </div>
              <div class="actions try-actions">
                <button type="submit" class="button primary" disabled={!canGenerate} data-testid="try-generate">
                  {busy ? 'Generating…' : 'Generate'}
                </button>
                <button
                  type="button"
                  class="button"
                  disabled={!busy || (state.stopping && (!onnx.busy || onnx.stopping))}
                  onClick={stop}
                  data-testid="try-stop"
                >
                  {state.stopping ? 'Stopping…' : 'Stop'}
                </button>
              </div>
            </div>
          </form>
        )}
        {models.state === 'error' && (
          <p class="error" role="alert">
            {models.error.message} <span class="muted">{models.error.hint}</span>
          </p>
        )}
        {state.error && (
          <p class="error" role="alert" data-testid="try-error">
            {state.error.message} <span class="muted">{state.error.hint}</span>
          </p>
        )}
      </section>
      <div class={`try-columns${showOnnx ? ' with-onnx' : ''}`} role="group" aria-label="Answers">
        <AnswerColumn
          id="base"
          title="Base model"
          subtitle={form.model ? form.model.repo : 'no model picked'}
          side={state.base}
          loading={loading}
          placeholder="The base model’s answer appears here."
        />
        <AnswerColumn
          id="adapter"
          title="With adapter"
          subtitle={
            state.adapter.status !== 'idle' && state.shownRunName
              ? state.shownRunName
              : run
                ? runLabel(run)
                : 'no run picked'
          }
          side={state.adapter}
          loading={loading}
          placeholder={
            run
              ? 'The answer with the run’s adapter (its latest checkpoint) appears here.'
              : 'Pick a run above to compare its adapter with the base model.'
          }
        />
        {showOnnx && <OnnxAnswerColumn copy={onnxCopy} engine={state.adapter} temperature={form.temperature} />}
      </div>
    </div>
  );
}
