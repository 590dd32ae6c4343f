import { useState } from 'preact/hooks';
import { proxy } from 'comlink';
import type { DownloadProgress } from '../../model/download.ts';
import type { EngineError, RepoInfo } from '../../worker/contract.ts';
import { engine } from '../engine.ts';
import { formatBytes, formatCount, formatDuration } from '../format.ts';

type State =
  | { state: 'ready' }
  | { state: 'running'; progress: DownloadProgress | null }
  | { state: 'done' }
  | { state: 'failed'; error: EngineError; progress: DownloadProgress | null };

export function DownloadPanel({ info, onDone }: { info: RepoInfo; onDone: () => void }) {
  const [st, setSt] = useState<State>({ state: 'ready' });
  const start = async () => {
    setSt({ state: 'running', progress: null });
    let last: DownloadProgress | null = null;
    const r = await engine().download(
      info.loc,
      info.files,
      proxy((p: DownloadProgress) => {
        last = p;
        setSt({ state: 'running', progress: p });
      }),
    );
    if (r.ok) {
      setSt({ state: 'done' });
      onDone();
    } else setSt({ state: 'failed', error: r.error, progress: last });
  };
  const progress = st.state === 'running' || st.state === 'failed' ? st.progress : null;
  const pct = progress && progress.total > 0 ? (100 * progress.loaded) / progress.total : 0;
  return (
    <div class="download" data-testid="download-panel">
      <dl class="facts">
        <dt>Repository</dt>
        <dd>{info.loc.repo}</dd>
        {info.summary && (
          <>
            <dt>Model</dt>
            <dd>
              {info.summary.arch}, {formatCount(info.summary.parameters)} parameters, {info.summary.layers} layers
            </dd>
            <dt>GPU memory</dt>
            <dd>
              about {formatBytes(info.summary.planBytes)} for QLoRA (4-bit base, rank 16, 1024 tokens, checkpointing)
            </dd>
          </>
        )}
        <dt>Download</dt>
        <dd>
          {info.files.length} files, {formatBytes(info.bytes)}
        </dd>
      </dl>
      <ul class="file-list">
        {info.files.map((f) => (
          <li>
            <code>{f.path}</code> <span class="muted">{formatBytes(f.size)}</span>
          </li>
        ))}
      </ul>
      {progress && (
        <div class="progress-block" data-testid="download-progress">
          <div
            class="progress"
            role="progressbar"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={Math.round(pct)}
            aria-label="Download progress"
          >
            <div class="bar" style={{ width: `${pct}%` }} />
          </div>
          <p class="muted">
            {formatBytes(progress.loaded)} of {formatBytes(progress.total)} ({pct.toFixed(0)}%) ·{' '}
            {formatBytes(progress.bytesPerSecond)}/s · {formatDuration(progress.etaSeconds)} left ·{' '}
            <code>{progress.file}</code>
          </p>
        </div>
      )}
      {st.state === 'failed' && (
        <p class="error" role="alert" data-testid="download-error">
          {st.error.message} <span class="muted">{st.error.hint}</span>
        </p>
      )}
      {st.state === 'done' && (
        <p class="ok-text" data-testid="download-done">
          Downloaded and verified. It is in this browser's model cache and works offline.
        </p>
      )}
      <div class="actions">
        {st.state === 'running' ? (
          <button type="button" onClick={() => engine().cancelDownload()}>
            Cancel
          </button>
        ) : (
          st.state !== 'done' && (
            <button type="button" class="primary" onClick={() => void start()}>
              {st.state === 'failed' ? 'Resume download' : 'Download'}
            </button>
          )
        )}
      </div>
    </div>
  );
}
