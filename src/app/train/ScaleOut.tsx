/**
 * "Scale out" on a run's view: the run handed over to transformers + PEFT + accelerate (train.py, accelerate and
 * axolotl configs, the data as the run saw it) into a folder the user picks, or as a zip; and "Import a PEFT
 * adapter", which brings an adapter trained there back as a run (chat, compare, export, start a new run from it).
 */
import { useState } from 'preact/hooks';
import type { EngineError, ExportedFileInfo, ModelRef, RunInfo } from '../../worker/contract.ts';
import { selectedModel, usePersisted } from '../app-state.ts';
import { engine } from '../engine.ts';
import { directoryPicker, saveBytes } from '../export/save-files.ts';
import { formatBytes } from '../format.ts';
import { refreshRuns, view } from './run-store.ts';

type Outcome =
  | { state: 'idle' }
  | { state: 'busy' }
  | { state: 'done'; where: string; files: ExportedFileInfo[] }
  | { state: 'error'; error: EngineError };

function ErrorNote({ error }: { error: EngineError }) {
  return (
    <div class="hint" role="alert">
      <strong>{error.message}</strong>
      <p>{error.hint}</p>
    </div>
  );
}

export function ScaleOutButton({ run }: { run: RunInfo }) {
  const [outcome, setOutcome] = useState<Outcome>({ state: 'idle' });
  const picker = directoryPicker();
  const go = async () => {
    let dir: FileSystemDirectoryHandle | null = null;
    if (picker) {
      try {
        dir = await picker({ id: 'lora-studio-export', mode: 'readwrite' });
      } catch (err) {
        if ((err as { name?: string }).name === 'AbortError') return;
        dir = null; // no folder: a zip instead
      }
    }
    setOutcome({ state: 'busy' });
    const r = await engine().scaleOutRun(run.id, dir);
    if (!r.ok) return setOutcome({ state: 'error', error: r.error });
    const folder = r.value.files[0]?.name.split('/')[0] ?? 'scale-out';
    if (r.value.zip) {
      saveBytes(r.value.zip, `${folder}.zip`);
      setOutcome({
        state: 'done',
        files: r.value.files,
        where: `Saved ${folder}.zip (${formatBytes(r.value.zip.byteLength)}) to your downloads.`,
      });
    } else setOutcome({ state: 'done', files: r.value.files, where: `Written to ${dir!.name}/${folder}.` });
  };
  return (
    <div class="scale-out" data-testid="scale-out">
      <button
        type="button"
        onClick={() => void go()}
        disabled={outcome.state === 'busy'}
        title="train.py for transformers + PEFT, accelerate and axolotl configs, and the data as this run saw it"
        data-testid="scale-out-button"
      >
        {outcome.state === 'busy' ? 'Writing…' : 'Scale out (PEFT + accelerate)…'}
      </button>
      {outcome.state === 'done' && (
        <p class="note" role="status" data-testid="scale-out-done">
          {outcome.where} {outcome.files.length} files; its README.md has the three commands to run it on GPUs.
        </p>
      )}
      {outcome.state === 'error' && <ErrorNote error={outcome.error} />}
    </div>
  );
}

/** The files of a picked PEFT folder (or the two files picked by hand). */
async function readPicked(list: FileList): Promise<{ name: string; bytes: Uint8Array }[]> {
  const wanted = new Set(['adapter_config.json', 'adapter_model.safetensors']);
  const out = [];
  for (const f of Array.from(list)) {
    const name = (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
    if (wanted.has(name.split('/').pop()!)) out.push({ name, bytes: new Uint8Array(await f.arrayBuffer()) });
  }
  return out;
}

export function ImportAdapter() {
  const [model] = usePersisted(selectedModel);
  const [name, setName] = useState('');
  const [outcome, setOutcome] = useState<Outcome>({ state: 'idle' });
  const pick = async (input: HTMLInputElement, m: ModelRef) => {
    if (!input.files || input.files.length === 0) return;
    setOutcome({ state: 'busy' });
    const files = await readPicked(input.files);
    input.value = '';
    const r = await engine().importPeftAdapter(m, name, files);
    if (!r.ok) return setOutcome({ state: 'error', error: r.error });
    setOutcome({ state: 'idle' });
    await refreshRuns();
    await view(r.value.id);
  };
  return (
    <section class="card" aria-labelledby="import-adapter-title" data-testid="import-adapter">
      <h2 id="import-adapter-title">Import a PEFT adapter</h2>
      <p class="muted">
        Bring back an adapter trained with PEFT (for example by a scale-out folder's train.py): pick its
        adapter_config.json and adapter_model.safetensors. It becomes a run of {model ? model.repo : 'the chosen model'}{' '}
        to chat with, compare, export, or start a new run from.
      </p>
      <div class="form-grid">
        <div class="field">
          <label for="import-adapter-name">Name</label>
          <input
            id="import-adapter-name"
            type="text"
            value={name}
            placeholder="optional"
            onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
          />
        </div>
        <div class="field">
          <label for="import-adapter-files">Adapter files</label>
          <input
            id="import-adapter-files"
            type="file"
            multiple
            accept=".json,.safetensors"
            disabled={!model || outcome.state === 'busy'}
            onChange={(e) => model && void pick(e.currentTarget as HTMLInputElement, model)}
            data-testid="import-adapter-files"
          />
          {!model && <p class="help">Choose the adapter's base model under New run first.</p>}
        </div>
      </div>
      {outcome.state === 'busy' && <p class="muted">Reading the adapter…</p>}
      {outcome.state === 'error' && <ErrorNote error={outcome.error} />}
    </section>
  );
}
