/**
 * Setting up a run: the model and dataset (from what this browser holds), a preset, the configuration form generated
 * from the zod schema, sample generations with a validator, and the memory the run will need. The draft is kept in
 * IndexedDB, so a reload returns to it.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { z } from 'zod';
import {
  PRESETS,
  PRESET_TEXT,
  type PresetName,
  type TrainConfig,
  TrainConfigSchema,
  trainConfig,
} from '../../schema/train.ts';
import { suggestValidator } from '../../validate/suggest.ts';
import { VALIDATOR_KINDS, type ValidatorKind } from '../../validate/types.ts';
import type { CachedModelInfo, ModelRef } from '../../worker/contract.ts';
import { selectedDataset, selectedModel, usePersisted } from '../app-state.ts';
import { datasetsStore, refreshDatasets } from '../data/datasets-store.ts';
import { useStore } from '../data/store.ts';
import { engine } from '../engine.ts';
import { formatBytes } from '../format.ts';
import { type JsonSchema, SchemaFields, SchemaForm, setPath } from './SchemaForm.tsx';
import { startRun, type TrainState } from './run-store.ts';
import { BASIC_FIELDS, trainDraft, trainFormMode } from './draft.ts';
import type { DatasetMeta } from '../../schema/dataset.ts';
import type { PreflightData, RunPlan } from '../../train/preflight.ts';

/** What the pre-flight needs of a dataset; without token statistics, every row is taken as max length long. */
function preflightData(d: DatasetMeta | null, maxLength: number): PreflightData {
  const train = d?.counts.train ?? 0;
  const valid = d?.counts.valid ?? 0;
  return d?.tokens
    ? { trainExamples: train, validExamples: valid, longestTokens: d.tokens.max, totalTokens: d.tokens.totalTokens }
    : {
        trainExamples: train,
        validExamples: valid,
        longestTokens: maxLength,
        totalTokens: maxLength * (train + valid),
      };
}

const FORM_SCHEMA = z.toJSONSchema(TrainConfigSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;

const refKey = (r: ModelRef | null) => (r ? `${r.repo}@${r.revision}` : '');

/** A schema issue as a sentence for the field it sits under (not zod's own text). */
export function wordedIssue(i: z.core.$ZodIssue): string {
  const bound = (v: unknown) =>
    typeof v === 'bigint' || typeof v === 'number' ? v.toLocaleString('en-US') : String(v);
  switch (i.code) {
    case 'too_big':
      return `Use ${bound(i.maximum)} or less${i.inclusive === false ? ' (strictly)' : ''}.`;
    case 'too_small':
      return i.minimum === 0 && i.inclusive === false
        ? 'Use a number above 0.'
        : `Use ${bound(i.minimum)} or more${i.inclusive === false ? ' (strictly)' : ''}.`;
    case 'invalid_type':
      return i.expected === 'int' ? 'Use a whole number.' : `Enter a ${i.expected === 'number' ? 'number' : 'value'}.`;
    case 'invalid_value':
      return `Choose one of: ${i.values.map(String).join(', ')}.`;
    case 'not_multiple_of':
      return `Use a multiple of ${bound(i.divisor)}.`;
    default:
      return 'This value is not allowed here.';
  }
}

function issuesByPath(config: unknown): Map<string, string> {
  const r = TrainConfigSchema.safeParse(config);
  const out = new Map<string, string>();
  if (!r.success) for (const i of r.error.issues) out.set(i.path.join('.'), wordedIssue(i));
  return out;
}

const stepsText = (p: RunPlan) =>
  `${p.totalSteps.toLocaleString('en-US')} steps (${p.epochs.toFixed(1)} epochs), up to ` +
  `${p.tokensPerStep.toLocaleString('en-US')} tokens per step, about ${formatBytes(p.totalBytes)} of GPU memory.`;

export function NewRun({ state, collapsed }: { state: TrainState; collapsed: boolean }) {
  const [models, setModels] = useState<CachedModelInfo[] | null>(null);
  const datasets = useStore(datasetsStore);
  const [model, setModel] = usePersisted(selectedModel);
  const [datasetId, setDatasetId] = usePersisted(selectedDataset);
  const [draft, setDraft, draftLoaded] = usePersisted(trainDraft);
  const [mode, setMode] = usePersisted(trainFormMode);
  const [plan, setPlan] = useState<RunPlan | null>(null);
  const [startFrom, setStartFrom] = useState<string>('');
  useEffect(() => {
    void refreshDatasets();
    void engine()
      .cachedModels()
      .then((r) => setModels(r.ok ? r.value : []));
  }, []);
  const config = draft.config as Record<string, unknown>;
  const errors = useMemo(() => issuesByPath(config), [config]);
  // Problems with settings the basic form does not show.
  const hiddenErrors = [...errors.keys()].some((k) => !BASIC_FIELDS.some((p) => p.join('.') === k));
  const list = datasets.state === 'ready' ? datasets.list : [];
  const dataset = list.find((d) => d.id === datasetId) ?? null;

  // Defaults for the pickers: the only model / dataset when nothing was chosen yet.
  useEffect(() => {
    if (!model && models && models.length > 0) setModel({ repo: models[0]!.repo, revision: models[0]!.revision });
    // eslint-disable-next-line react-hooks/exhaustive-deps -- a default when the model list arrives; later the pick is the user's
  }, [models]);
  useEffect(() => {
    if (!datasetId && list.length > 0) setDatasetId(list[0]!.id);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- a default when the dataset list changes; later the pick is the user's
  }, [list.length]);

  useEffect(() => {
    if (!model || errors.size > 0) return setPlan(null);
    let live = true;
    void engine()
      .planRun(model, config as TrainConfig, null, preflightData(dataset, config.maxLength as number))
      .then((r) => live && setPlan(r.ok ? r.value : null));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- keyed by value (model ref, config as JSON, dataset id), not by object identity, which changes every render
  }, [refKey(model), JSON.stringify(config), dataset?.id]);

  const choosePreset = (preset: PresetName | null) => setDraft({ ...draft, preset, config: trainConfig(preset) });
  const suggested: ValidatorKind | null = dataset
    ? (suggestValidator({ files: dataset.sources.map((s) => s.path) })?.kind ?? null)
    : null;
  const validator = draft.validator === 'auto' ? suggested : draft.validator;
  const busy = state.activeId !== null;
  // Runs of this model with a finished adapter to start from (e.g. one imported from PEFT).
  const adapters = state.runs.filter(
    (r) =>
      model !== null &&
      r.model.repo === model.repo &&
      r.model.revision === model.revision &&
      r.status !== 'running' &&
      (r.step > 0 || r.datasetId === ''),
  );
  const refused = plan !== null && plan.problems.length > 0;
  const canStart = !busy && model !== null && dataset !== null && errors.size === 0 && draftLoaded && !refused;

  const start = () => {
    if (!model || !dataset) return;
    void startRun({
      model,
      datasetId: dataset.id,
      preset: draft.preset,
      config: TrainConfigSchema.parse(config),
      samples: draft.samples,
      validator,
      ...(draft.name.trim() ? { name: draft.name.trim() } : {}),
      ...(startFrom && adapters.some((r) => r.id === startFrom) ? { startFrom } : {}),
    });
  };

  return (
    <section class="card new-run" aria-labelledby="new-run-title" data-testid="new-run">
      <h2 id="new-run-title">New run</h2>
      <div class="form-grid pickers">
        <div class="field">
          <label for="run-model">Model</label>
          <select
            id="run-model"
            value={refKey(model)}
            onChange={(e) =>
              setModel(models?.find((m) => refKey(m) === (e.currentTarget as HTMLSelectElement).value) ?? null)
            }
          >
            {!model && <option value="">Choose a model…</option>}
            {(models ?? []).map((m) => (
              <option value={refKey(m)}>
                {m.repo} ({formatBytes(m.bytes)})
              </option>
            ))}
          </select>
          {models?.length === 0 && (
            <p class="help">
              No model in this browser yet: <a href="#/model">download one or drop a folder</a>.
            </p>
          )}
        </div>
        <div class="field">
          <label for="run-dataset">Dataset</label>
          <select
            id="run-dataset"
            value={datasetId ?? ''}
            onChange={(e) => setDatasetId((e.currentTarget as HTMLSelectElement).value || null)}
          >
            {!dataset && <option value="">Choose a dataset…</option>}
            {list.map((d) => (
              <option value={d.id}>
                {d.name} ({d.counts.train} train / {d.counts.valid} valid)
              </option>
            ))}
          </select>
          {datasets.state === 'ready' && list.length === 0 && (
            <p class="help">
              No dataset yet: <a href="#/data">import one</a>.
            </p>
          )}
        </div>
        <div class="field">
          <label for="run-preset">Preset</label>
          <select
            id="run-preset"
            value={draft.preset ?? ''}
            onChange={(e) => choosePreset(((e.currentTarget as HTMLSelectElement).value || null) as PresetName | null)}
          >
            <option value="">Defaults</option>
            {(Object.keys(PRESETS) as PresetName[]).map((p) => (
              <option value={p}>{PRESET_TEXT[p]}</option>
            ))}
          </select>
          <p class="help">A preset fills the form below; change anything afterwards.</p>
        </div>
        <div class="field">
          <label for="run-name">Run name</label>
          <input
            id="run-name"
            type="text"
            value={draft.name}
            placeholder="optional"
            onInput={(e) => setDraft({ ...draft, name: (e.currentTarget as HTMLInputElement).value })}
          />
        </div>
        <div class="field">
          <label for="run-start-from">Start from</label>
          <select
            id="run-start-from"
            value={startFrom}
            onChange={(e) => setStartFrom((e.currentTarget as HTMLSelectElement).value)}
            data-testid="run-start-from"
          >
            <option value="">A fresh adapter</option>
            {adapters.map((r) => (
              <option value={r.id}>The adapter of “{r.name}”</option>
            ))}
          </select>
          <p class="help">Continuing an adapter keeps its rank, alpha, targets and layers.</p>
        </div>
      </div>
      <details class="config" open={!collapsed}>
        <summary>Settings</summary>
        <div class="form-mode" role="radiogroup" aria-label="Settings shown">
          {(['basic', 'advanced'] as const).map((m) => (
            <label class="check">
              <input
                type="radio"
                name="form-mode"
                value={m}
                checked={mode === m}
                onChange={() => setMode(m)}
                data-testid={`form-mode-${m}`}
              />
              {m === 'basic' ? 'Basic' : 'Advanced'}
            </label>
          ))}
          <span class="help">
            {mode === 'basic'
              ? 'Steps, epochs, learning rate and rank; the preset sets the rest.'
              : 'Every setting of the run.'}
          </span>
        </div>
        {mode === 'basic' ? (
          <SchemaFields
            schema={FORM_SCHEMA}
            paths={BASIC_FIELDS}
            value={config}
            errors={errors}
            onChange={(path, v) => setDraft({ ...draft, config: setPath(config, path, v) })}
          />
        ) : (
          <SchemaForm
            schema={FORM_SCHEMA}
            value={config}
            errors={errors}
            onChange={(path, v) => setDraft({ ...draft, config: setPath(config, path, v) })}
          />
        )}
        {mode === 'advanced' && (
          <fieldset class="form-group">
            <legend>Samples at each evaluation</legend>
            <div class="form-grid">
              <div class="field">
                <label for="run-samples">Validation prompts answered</label>
                <input
                  id="run-samples"
                  type="number"
                  min={0}
                  max={16}
                  step={1}
                  value={draft.samples}
                  onInput={(e) =>
                    setDraft({
                      ...draft,
                      samples: Math.max(0, Math.min(16, Number((e.currentTarget as HTMLInputElement).value) || 0)),
                    })
                  }
                />
              </div>
              <div class="field">
                <label for="run-validator">Check answers with</label>
                <select
                  id="run-validator"
                  value={draft.validator ?? 'none'}
                  onChange={(e) => {
                    const v = (e.currentTarget as HTMLSelectElement).value;
                    setDraft({ ...draft, validator: v === 'none' ? null : (v as ValidatorKind | 'auto') });
                  }}
                >
                  <option value="auto">Automatic{suggested ? ` (${suggested.toUpperCase()})` : ' (none found)'}</option>
                  <option value="none">No validator</option>
                  {VALIDATOR_KINDS.map((k) => (
                    <option value={k}>{k.toUpperCase()}</option>
                  ))}
                </select>
              </div>
            </div>
          </fieldset>
        )}
        {mode === 'basic' && hiddenErrors && (
          <p class="error-text" data-testid="advanced-errors">
            A setting under Advanced is not valid: switch to Advanced to fix it.
          </p>
        )}
      </details>
      <div class="actions">
        <button type="button" class="primary" onClick={start} disabled={!canStart} data-testid="start-run">
          Start training
        </button>
        {plan && !refused && (
          <span class="muted" data-testid="preflight-plan">
            {stepsText(plan)}
          </span>
        )}
        {errors.size > 0 && <span class="error-text">Fix the highlighted settings first.</span>}
        {busy && <span class="muted">A run is training; pause or stop it to start another.</span>}
      </div>
      {refused && (
        <div class="hint" role="alert" data-testid="preflight-problems">
          <strong>These settings cannot train here:</strong>
          <ul>
            {plan.problems.map((p) => (
              <li>{p}</li>
            ))}
          </ul>
        </div>
      )}
      {plan && !refused && plan.warnings.length > 0 && (
        <p class="note" data-testid="preflight-warnings">
          {plan.warnings.join(' ')}
        </p>
      )}
    </section>
  );
}
