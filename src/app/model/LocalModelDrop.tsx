/**
 * A model folder from this computer (dropped, or picked with a folder / file picker) copied into the browser's model
 * cache as `local/<folder name>`, with progress; the worker checks it is a loadable model first and says what is
 * missing otherwise.
 */
import { proxy } from 'comlink';
import { useRef, useState } from 'preact/hooks';
import { useDragOver } from '../drag.ts';
import { filesFromDataTransfer, filesFromFileList } from '../../data/browser-files.ts';
import type { DownloadProgress } from '../../model/download.ts';
import type { CachedModelInfo, EngineError } from '../../worker/contract.ts';
import { HiddenFileInput } from '../data/DropZone.tsx';
import { engine } from '../engine.ts';
import { formatBytes, formatDuration } from '../format.ts';

type State =
  | { state: 'idle' }
  | { state: 'copying'; name: string; progress: DownloadProgress | null }
  | { state: 'done'; info: CachedModelInfo }
  | { state: 'failed'; name: string; error: EngineError };

/** The cache name of a chosen folder: its top folder, else the weights file's name without extension. */
export function localName(paths: string[]): string {
  const top = paths[0]?.split('/')[0];
  if (top && paths.every((p) => p.includes('/') && p.split('/')[0] === top)) return top;
  const weights = paths.find((p) => /\.(gguf|safetensors)$/i.test(p));
  return (weights ?? paths[0] ?? 'model')
    .split('/')
    .pop()!
    .replace(/\.(gguf|safetensors)$/i, '');
}

export function LocalModelDrop({ onImported }: { onImported: (info: CachedModelInfo) => void }) {
  const [st, setSt] = useState<State>({ state: 'idle' });
  const folderInput = useRef<HTMLInputElement>(null);
  const filesInput = useRef<HTMLInputElement>(null);
  const busy = st.state === 'copying';

  const importFiles = async (files: { path: string; blob: File }[]) => {
    if (busy || files.length === 0) return;
    const name = localName(files.map((f) => f.path));
    setSt({ state: 'copying', name, progress: null });
    try {
      const r = await engine().importLocalModel(
        name,
        files.map((f) => ({ path: f.path, file: f.blob })),
        proxy((p: DownloadProgress) => setSt({ state: 'copying', name, progress: p })),
      );
      if (r.ok) {
        setSt({ state: 'done', info: r.value });
        onImported(r.value);
      } else setSt({ state: 'failed', name, error: r.error });
    } catch (err) {
      setSt({
        state: 'failed',
        name,
        error: {
          kind: 'unknown',
          message: `The engine worker failed: ${String(err)}`,
          hint: 'Reload the page and try again.',
        },
      });
    }
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    const dt = e.dataTransfer;
    if (!dt || busy) return;
    // The item list is only readable during the event: walk it now.
    const walking =
      dt.items && dt.items.length > 0
        ? filesFromDataTransfer(dt.items)
        : Promise.resolve(filesFromFileList(Array.from(dt.files)));
    walking.then(
      (files) => void importFiles(files),
      (err: unknown) =>
        setSt({
          state: 'failed',
          name: 'the dropped folder',
          error: {
            kind: 'unknown',
            message: `The browser did not let the page read what was dropped (${err instanceof Error ? err.message : String(err)}).`,
            hint: 'Use "Choose folder" instead.',
          },
        }),
    );
  };
  const [over, dragHandlers] = useDragOver(onDrop);

  const p = st.state === 'copying' ? st.progress : null;
  const pct = p && p.total > 0 ? (100 * p.loaded) / p.total : 0;
  return (
    <section class="card local-model" aria-labelledby="local-title" data-testid="local-model">
      <h2 id="local-title">Use a model folder from this computer</h2>
      <p class="muted local-lead">
        Already downloaded a model (with <code>huggingface-cli</code>, LM Studio, …)? Its folder is copied into this
        browser’s cache and works offline; nothing is uploaded.
      </p>
      <div class="data-page">
        <div
          class={`dropzone compact local-drop${over ? ' over' : ''}`}
          data-testid="local-model-drop"
          role="group"
          aria-labelledby="local-drop-title"
          aria-describedby="local-drop-help"
          {...dragHandlers}
        >
          <p class="drop-title" id="local-drop-title">
            {over ? 'Drop to copy into the cache' : 'Drop a model folder here'}
          </p>
          <p class="muted local-drop-help" id="local-drop-help">
            <code>config.json</code> with <code>model.safetensors</code> (or its shards and index), or one{' '}
            <code>.gguf</code> file — plus <code>tokenizer.json</code>.
          </p>
          <div class="actions">
            <button type="button" class="button primary" disabled={busy} onClick={() => folderInput.current?.click()}>
              Choose folder
            </button>
            <button type="button" class="button" disabled={busy} onClick={() => filesInput.current?.click()}>
              Choose files
            </button>
          </div>
          <HiddenFileInput
            folder
            inputRef={folderInput}
            label="Model folder"
            testId="model-folder-input"
            onFiles={(f) => void importFiles(filesFromFileList(f))}
          />
          <HiddenFileInput
            multiple
            inputRef={filesInput}
            label="Model files"
            testId="model-files-input"
            onFiles={(f) => void importFiles(filesFromFileList(f))}
          />
        </div>
      </div>
      {st.state === 'copying' && (
        <div class="progress-block local-progress" data-testid="local-model-progress" aria-live="polite">
          <p class="local-progress-title">
            <span class="spinner" aria-hidden="true" />{' '}
            {p ? `Copying ${st.name} into the cache…` : `Checking ${st.name}…`}
          </p>
          <div
            class="progress"
            role="progressbar"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={Math.round(pct)}
            aria-label="Copy progress"
          >
            <div class="bar" style={{ width: `${pct}%` }} />
          </div>
          {p && (
            <p class="muted">
              {formatBytes(p.loaded)} of {formatBytes(p.total)} ({pct.toFixed(0)}%) · {formatBytes(p.bytesPerSecond)}/s
              · {formatDuration(p.etaSeconds)} left · <code>{p.file}</code>
            </p>
          )}
        </div>
      )}
      {st.state === 'failed' && (
        <p class="error" role="alert" data-testid="local-model-error">
          {st.error.message} <span class="muted">{st.error.hint}</span>
        </p>
      )}
      {st.state === 'done' && (
        <p class="ok-text" role="status" data-testid="local-model-done">
          Copied as <strong>{st.info.repo}</strong>: {st.info.files} files, {formatBytes(st.info.bytes)}. It is listed
          under “Models in this browser” and works offline.
        </p>
      )}
    </section>
  );
}
