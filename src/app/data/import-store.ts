/**
 * The import on the Data page, as a state machine: choose files → importing (progress, Cancel) →
 * result (or failure) → save. The records stay in the worker (see worker-api.ts); this module
 * holds the summary, the settings form and the chosen files.
 */
import type { DroppedFile } from '../../data/browser-files.ts';
import type { UnreadableInput } from '../../data/inputs.ts';
import type { ImportProgress } from '../../data/import.ts';
import type { DatasetMeta } from '../../schema/dataset.ts';
import { refreshDatasets } from './datasets-store.ts';
import { defaultForm, type SettingsErrors, type SettingsForm, toSettings } from './settings.ts';
import { createStore } from './store.ts';
import { describeError, suggestName } from './text.ts';
import { CancelledError, DataWorker } from './worker-client.ts';
import type { ImportSummary, TokenizerSource } from './worker-api.ts';

export interface Chosen {
  files: DroppedFile[];
  /** Entries the browser would not hand over: listed as skipped by the import. */
  unreadable: UnreadableInput[];
  bytes: number;
  via: 'folder' | 'files' | 'drop';
}

export type ImportPhase =
  | { state: 'idle'; note?: string }
  | { state: 'importing'; progress: ImportProgress | null; startedAt: number }
  | { state: 'done'; summary: ImportSummary; seconds: number; used: string }
  | { state: 'failed'; message: string };

export type SaveState =
  | { state: 'idle' }
  | { state: 'saving' }
  | { state: 'saved'; meta: DatasetMeta }
  | { state: 'failed'; message: string; quota: boolean };

export interface ImportState {
  chosen: Chosen | null;
  form: SettingsForm;
  errors: SettingsErrors;
  tokenizer: TokenizerSource | null;
  phase: ImportPhase;
  name: string;
  save: SaveState;
  /** Imports started so far (lets a caller tell a new result from the previous one). */
  runs: number;
}

export const importStore = createStore<ImportState>({
  chosen: null,
  form: defaultForm(),
  errors: {},
  tokenizer: null,
  phase: { state: 'idle' },
  name: '',
  save: { state: 'idle' },
  runs: 0,
});

let worker: DataWorker | null = null;

function stopWorker(): void {
  worker?.terminate();
  worker = null;
}

/** What the result was computed with; when the form or tokenizer differ, the result is stale. */
export function settingsKey(state: Pick<ImportState, 'form' | 'tokenizer'>): string {
  return JSON.stringify([state.form, state.tokenizer?.label ?? null]);
}

export function choose(files: DroppedFile[], via: Chosen['via'], unreadable: UnreadableInput[] = []): void {
  if (files.length === 0 && unreadable.length === 0) {
    importStore.set((s) => ({
      ...s,
      phase: {
        state: 'failed',
        message: 'That held no files. If you dropped an empty folder, choose the folder that holds the data files.',
      },
    }));
    return;
  }
  const bytes = files.reduce((a, f) => a + f.blob.size, 0);
  importStore.set((s) => ({
    ...s,
    chosen: { files, unreadable, bytes, via },
    name: suggestName([...files, ...unreadable].map((f) => f.path)),
  }));
  void startImport();
}

export function updateForm(patch: Partial<SettingsForm>): void {
  importStore.set((s) => {
    const form = { ...s.form, ...patch };
    const checked = toSettings(form);
    return { ...s, form, errors: checked.ok ? {} : checked.errors };
  });
}

export function resetForm(): void {
  importStore.set((s) => ({ ...s, form: defaultForm(), errors: {} }));
}

export function setTokenizer(tokenizer: TokenizerSource | null): void {
  importStore.set((s) => ({ ...s, tokenizer }));
}

export function setName(name: string): void {
  importStore.set((s) => ({ ...s, name, save: s.save.state === 'failed' ? { state: 'idle' } : s.save }));
}

export async function startImport(): Promise<void> {
  const state = importStore.get();
  if (!state.chosen) return;
  const checked = toSettings(state.form);
  if (!checked.ok) {
    importStore.set((s) => ({
      ...s,
      errors: checked.errors,
      phase: { state: 'failed', message: 'Some import settings need fixing first (they are marked below).' },
    }));
    return;
  }
  stopWorker();
  const mine = new DataWorker();
  worker = mine;
  const startedAt = performance.now();
  const used = settingsKey(state);
  importStore.set((s) => ({
    ...s,
    phase: { state: 'importing', progress: null, startedAt },
    save: { state: 'idle' },
    runs: s.runs + 1,
  }));
  const onProgress = (progress: ImportProgress) => {
    if (worker !== mine) return;
    importStore.set((s) => (s.phase.state === 'importing' ? { ...s, phase: { ...s.phase, progress } } : s));
  };
  const inputs = [...state.chosen.files.map((f) => ({ path: f.path, blob: f.blob })), ...state.chosen.unreadable];
  try {
    const summary = await mine.importFiles(inputs, checked.settings, state.tokenizer, onProgress);
    if (worker !== mine) return;
    const seconds = (performance.now() - startedAt) / 1000;
    importStore.set((s) => ({ ...s, phase: { state: 'done', summary, seconds, used } }));
  } catch (err) {
    if (worker !== mine || err instanceof CancelledError) return;
    stopWorker();
    importStore.set((s) => ({ ...s, phase: { state: 'failed', message: describeError(err, 'importing').message } }));
  }
}

export function cancelImport(): void {
  stopWorker();
  importStore.set((s) => ({ ...s, phase: { state: 'idle', note: 'Import cancelled. Nothing was saved.' } }));
}

/** Forgets the chosen files and the result. */
export function clearImport(): void {
  stopWorker();
  importStore.set((s) => ({ ...s, chosen: null, name: '', phase: { state: 'idle' }, save: { state: 'idle' } }));
}

export async function saveImport(): Promise<void> {
  const { name, phase } = importStore.get();
  if (phase.state !== 'done' || !worker) return;
  if (!name.trim()) {
    importStore.set((s) => ({
      ...s,
      save: { state: 'failed', message: 'Give the dataset a name first.', quota: false },
    }));
    return;
  }
  const mine = worker;
  importStore.set((s) => ({ ...s, save: { state: 'saving' } }));
  try {
    const meta = await mine.save(name);
    // The records are in IndexedDB now; the worker's copy is no longer needed.
    if (worker === mine) stopWorker();
    importStore.set((s) => ({ ...s, save: { state: 'saved', meta } }));
    await refreshDatasets();
  } catch (err) {
    if (err instanceof CancelledError) return;
    const { message, quota } = describeError(err, 'saving the dataset');
    importStore.set((s) => ({ ...s, save: { state: 'failed', message, quota } }));
  }
}
