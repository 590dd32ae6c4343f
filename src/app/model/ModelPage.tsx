import { useEffect, useState } from 'preact/hooks';
import { DEFAULT_HUB } from '../../model/hub.ts';
import { BUILD_HUB_ORIGINS, checkHubAddress } from '../../model/hub-origins.ts';
import type { CachedModelInfo, EngineError, RepoInfo } from '../../worker/contract.ts';
import { engine } from '../engine.ts';
import { CachedModels } from './CachedModels.tsx';
import { CatalogTable } from './CatalogTable.tsx';
import { DownloadPanel } from './DownloadPanel.tsx';
import { LocalModelDrop } from './LocalModelDrop.tsx';

const HUB_KEY = 'lora-studio.hub';
const REPO_KEY = 'lora-studio.repo';
/** The Hub address shown first: huggingface.co when this build allows it, else the first Hub it allows. */
const FIRST_HUB = BUILD_HUB_ORIGINS.includes(DEFAULT_HUB) ? DEFAULT_HUB : (BUILD_HUB_ORIGINS[0] ?? DEFAULT_HUB);

export function ModelPage() {
  const [hub, setHub] = useState(() => localStorage.getItem(HUB_KEY) ?? FIRST_HUB);
  const [repo, setRepo] = useState(() => localStorage.getItem(REPO_KEY) ?? '');
  const [lookup, setLookup] = useState<
    { state: 'idle' | 'busy' } | { state: 'done'; info: RepoInfo } | { state: 'error'; error: EngineError }
  >({ state: 'idle' });
  const [cached, setCached] = useState<CachedModelInfo[] | EngineError | null>(null);

  const refreshCache = async () => {
    const r = await engine().cachedModels();
    setCached(r.ok ? r.value : r.error);
  };
  useEffect(() => {
    void refreshCache();
  }, []);

  const look = async (name = repo) => {
    try {
      checkHubAddress(hub, BUILD_HUB_ORIGINS);
    } catch (err) {
      setLookup({ state: 'error', error: { kind: 'unknown', message: (err as Error).message, hint: '' } });
      return;
    }
    localStorage.setItem(HUB_KEY, hub);
    localStorage.setItem(REPO_KEY, name);
    setRepo(name);
    setLookup({ state: 'busy' });
    const r = await engine().inspectRepo(hub, name);
    setLookup(r.ok ? { state: 'done', info: r.value } : { state: 'error', error: r.error });
  };

  return (
    <div class="stack">
      <section class="card" aria-labelledby="hub-title">
        <h2 id="hub-title">Get a model from the Hugging Face Hub</h2>
        <form
          class="row-form"
          onSubmit={(e) => {
            e.preventDefault();
            void look();
          }}
        >
          <label class="field grow">
            <span>Repository</span>
            <input
              name="repo"
              value={repo}
              aria-describedby="repo-hint"
              onInput={(e) => setRepo(e.currentTarget.value)}
              required
            />
            <small id="repo-hint">owner/name, e.g. Qwen/Qwen2.5-0.5B-Instruct, or pick one below</small>
          </label>
          <button type="submit" class="primary" disabled={lookup.state === 'busy'}>
            {lookup.state === 'busy' ? 'Looking up…' : 'Look up'}
          </button>
        </form>
        <details class="advanced">
          <summary>Hub address</summary>
          <label class="field">
            <span>Base URL (a mirror, or a local server)</span>
            <input
              name="hub"
              type="url"
              value={hub}
              aria-describedby="hub-hint"
              onInput={(e) => setHub(e.currentTarget.value)}
            />
            <small id="hub-hint">https only; this build may connect to {BUILD_HUB_ORIGINS.join(', ')}</small>
          </label>
        </details>
        {lookup.state === 'error' && (
          <p class="error" role="alert">
            {lookup.error.message} <span class="muted">{lookup.error.hint}</span>
          </p>
        )}
        {lookup.state === 'done' && <DownloadPanel info={lookup.info} onDone={refreshCache} />}
      </section>
      <LocalModelDrop onImported={() => void refreshCache()} />
      <CachedModels models={cached} onChange={refreshCache} />
      <CatalogTable onPick={(r) => void look(r)} />
    </div>
  );
}
