/**
 * The Export section: a run, its latest or best checkpoint, a format and a precision; then "Choose folder…" writes a
 * subfolder there (File System Access API), or "Download .zip" saves the same files as one zip.
 */
import { useEffect, useState } from 'preact/hooks';
import { proxy } from 'comlink';
import type {
  CachedModelInfo,
  EngineError,
  ExportDtype,
  ExportedFileInfo,
  ExportFormat,
  ExportProgress,
  RunInfo,
} from '../../worker/contract.ts';
import { EXPORT_FORMATS, MERGED_ZIP_LIMIT_BYTES, exportFormat } from '../../train/export-formats.ts';
import { selectedRun, usePersisted } from '../app-state.ts';
import { engine } from '../engine.ts';
import { type OnnxChoice, OnnxOptions } from './OnnxOptions.tsx';
import { formatBytes } from '../format.ts';
import { RunSelect } from '../try/RunSelect.tsx';
import { type CheckpointChoice, checkpointChoice } from './checkpoints.ts';
import { ExportedFiles } from './ExportedFiles.tsx';
import { directoryPicker, saveBytes } from './save-files.ts';
import type { Loaded } from '../loaded.ts';

const DTYPES: { id: ExportDtype; label: string }[] = [
  { id: 'f32', label: 'float32 (exact)' },
  { id: 'f16', label: 'float16 (half the size)' },
  { id: 'bf16', label: 'bfloat16 (half the size)' },
];

type Outcome =
  | { state: 'idle' }
  | { state: 'busy'; how: 'folder' | 'zip'; progress?: ExportProgress }
  | { state: 'done'; files: ExportedFileInfo[]; where: string }
  | { state: 'error'; error: EngineError };

const fmtLoss = (x: number | null) => (x === null ? 'no validation loss' : `validation loss ${x.toFixed(4)}`);

export function ExportPage() {
  const [runs, setRuns] = useState<Loaded<RunInfo[]>>({ state: 'loading' });
  const [persistedRun, , runLoaded] = usePersisted(selectedRun);
  const [runId, setRunId] = useState<string | null>(null);
  const [which, setWhich] = useState<'latest' | 'best'>('latest');
  const [format, setFormat] = useState<ExportFormat>('peft');
  const [dtype, setDtype] = useState<ExportDtype>('f32');
  const [onnx, setOnnx] = useState<OnnxChoice>({ variants: ['q4'], adapterMode: 'merged', keepCopy: true });
  const [ckpts, setCkpts] = useState<CheckpointChoice | null>(null);
  const [outcome, setOutcome] = useState<Outcome>({ state: 'idle' });
  const [cached, setCached] = useState<CachedModelInfo[] | null>(null);
  const picker = directoryPicker();

  useEffect(() => {
    engine()
      .cachedModels()
      .then(
        (r) => setCached(r.ok ? r.value : []),
        () => setCached([]),
      );
  }, []);

  useEffect(() => {
    engine()
      .listRuns()
      .then(
        (r) => setRuns(r.ok ? { state: 'ok', value: r.value } : { state: 'error', error: r.error }),
        (err: unknown) =>
          setRuns({ state: 'error', error: { kind: 'unknown', message: String(err), hint: 'Reload the page.' } }),
      );
  }, []);
  const list = runs.state === 'ok' ? runs.value : [];
  // Default: the run picked elsewhere in the app, else the newest.
  useEffect(() => {
    if (runs.state !== 'ok' || !runLoaded) return;
    // Functional: a pick the user made before this effect ran wins.
    setRunId((current) => current ?? list.find((r) => r.id === persistedRun)?.id ?? list[0]?.id ?? null);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the default pick, once the run list and the persisted pick are loaded; later picks are the user's
  }, [runs.state, runLoaded]);
  useEffect(() => {
    setCkpts(null);
    setOutcome({ state: 'idle' });
    if (!runId) return;
    let live = true;
    checkpointChoice(runId).then(
      (c) => {
        if (!live) return;
        setCkpts(c);
        if (!c.best) setWhich('latest');
      },
      () => live && setCkpts({ latest: null, best: null, count: 0 }),
    );
    return () => {
      live = false;
    };
  }, [runId]);

  const info = exportFormat(format);
  // Keep the precision valid for the format.
  useEffect(() => {
    if (info.dtypes.length > 0 && !info.dtypes.includes(dtype)) setDtype(info.dtypes[0]!);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- only a change of format resets the precision; a precision the user picks stays
  }, [format]);
  const run = list.find((r) => r.id === runId) ?? null;
  const noCheckpoint = ckpts !== null && ckpts.latest === null;
  const keepsDtype = info.dtypes.length === 0;
  const baseModel =
    run && cached ? (cached.find((c) => c.repo === run.model.repo && c.revision === run.model.revision) ?? null) : null;
  // Model formats (merged weights, ONNX) need the base model, and a zip of them is built in memory.
  const needsWeights = info.needsModel === 'weights';
  const modelMissing = needsWeights && cached !== null && run !== null && baseModel === null;
  const zipTooLarge = needsWeights && baseModel !== null && baseModel.bytes > MERGED_ZIP_LIMIT_BYTES;
  const ready =
    run !== null &&
    ckpts !== null &&
    !noCheckpoint &&
    (keepsDtype || info.dtypes.includes(dtype)) &&
    !modelMissing &&
    (format !== 'onnx' || onnx.variants.length > 0) &&
    outcome.state !== 'busy';

  const exportTo = async (how: 'folder' | 'zip') => {
    if (!run) return;
    let dir: FileSystemDirectoryHandle | null = null;
    if (how === 'folder') {
      try {
        dir = await picker!({ id: 'lora-studio-export', mode: 'readwrite' });
      } catch (err) {
        if ((err as { name?: string }).name === 'AbortError') return; // the user closed the picker
        setOutcome({
          state: 'error',
          error: {
            kind: 'unknown',
            message: `The folder picker failed: ${(err as Error).message}`,
            hint: 'Use "Download .zip" instead.',
          },
        });
        return;
      }
    }
    setOutcome({ state: 'busy', how });
    const r = await engine().exportRun(
      { runId: run.id, which, format, dtype, ...(format === 'onnx' ? { onnx } : {}) },
      dir,
      proxy((progress: ExportProgress) => setOutcome({ state: 'busy', how, progress })),
    );
    if (!r.ok) {
      setOutcome({ state: 'error', error: r.error });
      return;
    }
    const folder = r.value.files[0]?.name.split('/')[0] ?? `${run.name}-${format}`;
    if (r.value.zip) {
      saveBytes(r.value.zip, `${folder}.zip`);
      setOutcome({
        state: 'done',
        files: r.value.files,
        where: `Saved ${folder}.zip (${formatBytes(r.value.zip.byteLength)}) to your downloads.${r.value.note ? ` ${r.value.note}` : ''}`,
      });
    } else {
      setOutcome({
        state: 'done',
        files: r.value.files,
        where: `Written to ${dir!.name}/${folder}.${r.value.note ? ` ${r.value.note}` : ''}`,
      });
    }
  };

  return (
    <div class="data-page export-page" data-testid="export-page">
      <section class="card" aria-labelledby="export-title">
        <div class="card-head">
          <h2 id="export-title">Export an adapter</h2>
        </div>
        <p class="muted lead">
          Save a trained adapter in the format of the tool you will use it with. The files are written on this computer;
          nothing is uploaded.
        </p>
        {runs.state === 'ok' && list.length === 0 ? (
          <p class="note" data-testid="export-no-runs">
            No training runs yet. <a href="#/train">Train an adapter</a> first; every run keeps its latest and its best
            checkpoint here.
          </p>
        ) : (
          <div class="export-form">
            <RunSelect
              runs={runs}
              model={null}
              value={runId}
              allowNone={false}
              id="export-run"
              label="Run"
              disabled={outcome.state === 'busy'}
              onChange={(id) => setRunId(id)}
            />
            {run && (
              <p class="muted small export-run-facts">
                {run.model.repo} · {run.datasetName} · rank {run.config.lora.rank} ·{' '}
                {run.config.base === 'none' ? 'full-precision' : run.config.base} base
              </p>
            )}

            <fieldset class="choice-group" disabled={outcome.state === 'busy'}>
              <legend>Checkpoint</legend>
              {ckpts === null && run && <p class="muted small">Reading the checkpoints…</p>}
              {noCheckpoint && (
                <p class="note small" role="status">
                  This run has no saved checkpoint yet. Let it train until its first checkpoint (stopping a run saves
                  one).
                </p>
              )}
              {ckpts?.latest && (
                <label class="choice">
                  <input
                    type="radio"
                    name="which"
                    value="latest"
                    checked={which === 'latest'}
                    onChange={() => setWhich('latest')}
                  />
                  <span>
                    <strong>Latest</strong>{' '}
                    <span class="muted">
                      — step {ckpts.latest.step}, {fmtLoss(ckpts.latest.valLoss)}
                    </span>
                  </span>
                </label>
              )}
              {ckpts?.latest && (
                <label class={`choice${ckpts.best ? '' : ' disabled'}`}>
                  <input
                    type="radio"
                    name="which"
                    value="best"
                    checked={which === 'best'}
                    disabled={!ckpts.best}
                    onChange={() => setWhich('best')}
                  />
                  <span>
                    <strong>Best</strong>{' '}
                    <span class="muted">
                      —{' '}
                      {ckpts.best
                        ? `step ${ckpts.best.step}, ${fmtLoss(ckpts.best.valLoss)}`
                        : 'needs a validation loss; this run has none yet'}
                    </span>
                  </span>
                </label>
              )}
            </fieldset>

            <fieldset class="choice-group" disabled={outcome.state === 'busy'}>
              <legend>Format</legend>
              {EXPORT_FORMATS.map((f) => (
                <label class="choice" data-testid={`format-${f.id}`}>
                  <input
                    type="radio"
                    name="format"
                    value={f.id}
                    checked={format === f.id}
                    onChange={() => setFormat(f.id)}
                    aria-describedby={`format-${f.id}-purpose`}
                  />
                  <span>
                    <strong>{f.label}</strong>
                    <span class="choice-line muted" id={`format-${f.id}-purpose`}>
                      {f.purpose}
                    </span>
                  </span>
                </label>
              ))}
            </fieldset>

            <div class="field export-dtype">
              <label for="export-dtype">Precision</label>
              <select
                id="export-dtype"
                value={keepsDtype ? '' : dtype}
                disabled={outcome.state === 'busy' || keepsDtype}
                onChange={(e) => setDtype(e.currentTarget.value as ExportDtype)}
                aria-describedby="export-dtype-hint"
              >
                {keepsDtype && <option value="">as stored in the model</option>}
                {DTYPES.map((d) => (
                  <option value={d.id} disabled={!info.dtypes.includes(d.id)}>
                    {d.label}
                    {info.dtypes.includes(d.id) ? '' : ` — not for ${info.label}`}
                  </option>
                ))}
              </select>
              <p class="muted field-hint" id="export-dtype-hint">
                {keepsDtype
                  ? 'Each weight keeps the dtype the model stores it in; the adapter is added in float32 first.'
                  : 'The adapter is trained in float32; smaller types round it.'}
              </p>
            </div>

            {format === 'onnx' && run && (
              <OnnxOptions
                value={onnx}
                onChange={setOnnx}
                disabled={outcome.state === 'busy'}
                folder={`${run.name}-onnx`}
              />
            )}

            {needsWeights && run && (
              <p
                class={modelMissing ? 'note small' : 'muted small export-merged-note'}
                role="status"
                data-testid="export-merged-note"
              >
                {modelMissing
                  ? `${info.madeFromModel}, and ${run.model.repo} is not in this browser's cache: download it again (or drop its folder) on the Model page.`
                  : baseModel
                    ? `Writes a full copy of ${run.model.repo} (about ${formatBytes(baseModel.bytes)}) with the adapter folded in.${zipTooLarge ? ' That is too large for a zip built in memory: choose a folder.' : ''}`
                    : ''}
              </p>
            )}

            <div class="actions">
              {picker && (
                <button
                  type="button"
                  class="button primary"
                  disabled={!ready}
                  onClick={() => void exportTo('folder')}
                  data-testid="export-folder"
                >
                  {outcome.state === 'busy' && outcome.how === 'folder' ? 'Writing…' : 'Choose folder…'}
                </button>
              )}
              <button
                type="button"
                class={`button${picker ? '' : ' primary'}`}
                disabled={!ready || zipTooLarge}
                onClick={() => void exportTo('zip')}
                data-testid="export-zip"
              >
                {outcome.state === 'busy' && outcome.how === 'zip' ? 'Zipping…' : 'Download .zip'}
              </button>
              <span class="muted small">
                {picker
                  ? 'A subfolder named after the run is created in the folder you choose.'
                  : 'This browser cannot write into folders; the files come as one zip.'}
              </span>
            </div>
          </div>
        )}
        {outcome.state === 'busy' && outcome.progress && (
          <div class="progress-block" data-testid="export-progress">
            <div
              class="progress"
              role="progressbar"
              aria-label={`Writing ${outcome.progress.file}`}
              aria-valuemin={0}
              aria-valuemax={outcome.progress.bytesTotal}
              aria-valuenow={outcome.progress.bytesDone}
            >
              <div
                class="bar"
                style={{ width: `${(100 * outcome.progress.bytesDone) / Math.max(1, outcome.progress.bytesTotal)}%` }}
              />
            </div>
            <p class="muted small">
              {outcome.progress.file}: {formatBytes(outcome.progress.bytesDone)} of{' '}
              {formatBytes(outcome.progress.bytesTotal)}{' '}
              <button type="button" class="button small" onClick={() => void engine().cancelExport()}>
                Cancel
              </button>
            </p>
          </div>
        )}
        {outcome.state === 'error' && (
          <p class="error" role="alert" data-testid="export-error">
            {outcome.error.message} <span class="muted">{outcome.error.hint}</span>
          </p>
        )}
        {outcome.state === 'done' && <ExportedFiles files={outcome.files} where={outcome.where} />}
      </section>
    </div>
  );
}
