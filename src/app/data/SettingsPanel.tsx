/**
 * Import settings: split, seed, maximum length and what happens to longer examples, the loss mask,
 * a format override, the system prompt for records without one, and the tokenizer for token counts.
 * Values start at the schema's defaults (settings.ts); editing them after an import offers a re-import.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { filesFromFileList } from '../../data/browser-files.ts';
import { MaskModeSchema, OverLengthSchema, SourceFormatSchema } from '../../schema/dataset.ts';
import { HiddenFileInput } from './DropZone.tsx';
import { type ImportState, resetForm, setTokenizer, updateForm } from './import-store.ts';
import {
  DEFAULT_SYSTEM_PROMPT_NOTE,
  DEFAULT_SYSTEM_PROMPT_TEXT,
  type SettingsForm,
  type SystemMode,
} from './settings.ts';
import { count, FORMAT_LABELS, MASK_LABELS, OVER_LENGTH_LABELS } from './text.ts';
import { type CachedTokenizer, cachedTokenizers, tokenizerFromFolder } from './tokenizer-choice.ts';

function Field(props: {
  id: string;
  label: string;
  error?: string | undefined;
  hint?: string;
  children: preact.ComponentChildren;
  wide?: boolean;
}) {
  return (
    <div class={`field${props.wide ? ' wide' : ''}${props.error ? ' invalid' : ''}`}>
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.error ? (
        <p class="error-text" id={`${props.id}-error`}>
          {props.error}
        </p>
      ) : (
        props.hint && (
          <p class="field-hint muted" id={`${props.id}-hint`}>
            {props.hint}
          </p>
        )
      )}
    </div>
  );
}

function NumberInput(props: {
  id: string;
  value: number;
  min?: number;
  max?: number;
  step?: number;
  error?: string | undefined;
  onValue: (n: number) => void;
}) {
  return (
    <input
      id={props.id}
      type="number"
      inputMode="numeric"
      value={Number.isNaN(props.value) ? '' : props.value}
      min={props.min}
      max={props.max}
      step={props.step ?? 1}
      aria-invalid={props.error ? true : undefined}
      aria-describedby={props.error ? `${props.id}-error` : `${props.id}-hint`}
      onInput={(e) => props.onValue(e.currentTarget.value === '' ? Number.NaN : e.currentTarget.valueAsNumber)}
    />
  );
}

function summaryLine(form: SettingsForm, tokenizer: string | null): string {
  const valid = Math.round((100 - form.trainPercent - form.testPercent) * 100) / 100;
  const split = `split ${form.trainPercent}/${valid}/${form.testPercent}`;
  const format = form.format ? FORMAT_LABELS[form.format].toLowerCase() : 'format detected';
  return [
    split,
    `seed ${form.seed}`,
    `max ${count(form.maxLength)} tokens`,
    format,
    tokenizer ? `tokens: ${tokenizer}` : 'no token counts',
  ].join(' · ');
}

function TokenizerField({ state }: { state: ImportState }) {
  const [cached, setCached] = useState<CachedTokenizer[]>([]);
  const [error, setError] = useState<string | null>(null);
  const folder = useRef<HTMLInputElement>(null);
  useEffect(() => {
    let live = true;
    void cachedTokenizers().then((list) => live && setCached(list));
    return () => {
      live = false;
    };
  }, []);
  const current = state.tokenizer;
  const value = !current ? '' : current.kind === 'opfs' ? `opfs:${current.dir}` : 'folder';
  return (
    <Field
      id="set-tokenizer"
      label="Token counts"
      wide
      error={error ?? undefined}
      hint="With a model's tokenizer the import counts tokens, applies the maximum length and shows a length histogram."
    >
      <div class="inline-controls">
        <select
          id="set-tokenizer"
          value={value}
          onChange={(e) => {
            const v = e.currentTarget.value;
            setError(null);
            if (v === '') setTokenizer(null);
            else if (v.startsWith('opfs:')) {
              const c = cached.find((m) => `opfs:${m.dir}` === v);
              if (c) setTokenizer({ kind: 'opfs', dir: c.dir, label: c.label });
            }
          }}
        >
          <option value="">No tokenizer (rows only)</option>
          {cached.map((m) => (
            <option value={`opfs:${m.dir}`}>{m.label} (downloaded)</option>
          ))}
          {current?.kind === 'files' && <option value="folder">{current.label} (folder)</option>}
        </select>
        <button type="button" class="button" onClick={() => folder.current?.click()}>
          Choose model folder…
        </button>
      </div>
      <HiddenFileInput
        folder
        inputRef={folder}
        label="Model folder with tokenizer.json"
        testId="tokenizer-input"
        onFiles={(files) => {
          const picked = tokenizerFromFolder(filesFromFileList(files));
          if (picked.ok) {
            setError(null);
            setTokenizer(picked.source);
          } else setError(picked.message);
        }}
      />
    </Field>
  );
}

export function SettingsPanel({ state }: { state: ImportState }) {
  const { form, errors } = state;
  const panel = useRef<HTMLDetailsElement>(null);
  const hasErrors = Object.keys(errors).length > 0;
  // Open the panel when a setting needs fixing; never close it under the user's hands.
  useEffect(() => {
    if (hasErrors && panel.current) panel.current.open = true;
  }, [hasErrors]);
  const valid = Math.round((100 - form.trainPercent - form.testPercent) * 100) / 100;
  return (
    <details class="settings" ref={panel} data-testid="settings">
      <summary>
        <span class="settings-title">Import settings</span>
        <span class="muted settings-line">{summaryLine(form, state.tokenizer?.label ?? null)}</span>
      </summary>
      <div class="settings-grid">
        <Field
          id="set-train"
          label="Train %"
          error={errors.trainPercent}
          hint={Number.isFinite(valid) && valid >= 0 ? `Validation gets the rest: ${valid} %.` : undefined}
        >
          <NumberInput
            id="set-train"
            value={form.trainPercent}
            min={0}
            max={100}
            error={errors.trainPercent}
            onValue={(n) => updateForm({ trainPercent: n })}
          />
        </Field>
        <Field
          id="set-test"
          label="Test %"
          error={errors.testPercent}
          hint="Files named train / valid / test keep their own split."
        >
          <NumberInput
            id="set-test"
            value={form.testPercent}
            min={0}
            max={100}
            error={errors.testPercent}
            onValue={(n) => updateForm({ testPercent: n })}
          />
        </Field>
        <Field id="set-seed" label="Split seed" error={errors.seed} hint="The same seed gives the same split.">
          <NumberInput id="set-seed" value={form.seed} error={errors.seed} onValue={(n) => updateForm({ seed: n })} />
        </Field>
        <Field
          id="set-max"
          label="Maximum length (tokens)"
          error={errors.maxLength}
          hint="Also the window size for raw text."
        >
          <NumberInput
            id="set-max"
            value={form.maxLength}
            min={8}
            error={errors.maxLength}
            onValue={(n) => updateForm({ maxLength: n })}
          />
        </Field>
        <Field id="set-over" label="Longer examples" hint="Needs token counts.">
          <select
            id="set-over"
            value={form.overLength}
            onChange={(e) => updateForm({ overLength: OverLengthSchema.parse(e.currentTarget.value) })}
          >
            {OverLengthSchema.options.map((o) => (
              <option value={o}>{OVER_LENGTH_LABELS[o]}</option>
            ))}
          </select>
        </Field>
        <Field id="set-mask" label="Train on" hint="Which tokens the loss counts.">
          <select
            id="set-mask"
            value={form.mask}
            onChange={(e) => updateForm({ mask: MaskModeSchema.parse(e.currentTarget.value) })}
          >
            {MaskModeSchema.options.map((m) => (
              <option value={m}>{MASK_LABELS[m]}</option>
            ))}
          </select>
        </Field>
        <Field id="set-format" label="Format" hint="Detected from the files unless you pick one.">
          <select
            id="set-format"
            value={form.format}
            onChange={(e) =>
              updateForm({
                format: e.currentTarget.value === '' ? '' : SourceFormatSchema.parse(e.currentTarget.value),
              })
            }
          >
            <option value="">Detect automatically</option>
            {SourceFormatSchema.options.map((f) => (
              <option value={f}>{FORMAT_LABELS[f]}</option>
            ))}
          </select>
        </Field>
        <Field
          id="set-system"
          label="System prompt"
          hint={
            form.systemMode === 'default'
              ? DEFAULT_SYSTEM_PROMPT_NOTE
              : form.systemMode === 'none'
                ? 'No system prompt is added.'
                : 'For chat records that have none.'
          }
        >
          <select
            id="set-system"
            title={form.systemMode === 'default' ? DEFAULT_SYSTEM_PROMPT_TEXT : undefined}
            value={form.systemMode}
            onChange={(e) => updateForm({ systemMode: e.currentTarget.value as SystemMode })}
          >
            <option value="default">Default</option>
            <option value="none">None</option>
            <option value="custom">Custom…</option>
          </select>
        </Field>
        {form.systemMode === 'custom' && (
          <Field
            id="set-system-text"
            label="Custom system prompt"
            wide
            hint="Added in front of every chat record that has no system message."
          >
            <textarea
              id="set-system-text"
              rows={3}
              value={form.systemPrompt}
              onInput={(e) => updateForm({ systemPrompt: e.currentTarget.value })}
            />
          </Field>
        )}
        <TokenizerField state={state} />
      </div>
      <div class="actions end">
        <button type="button" class="button subtle" onClick={resetForm}>
          Reset to defaults
        </button>
      </div>
    </details>
  );
}
