/**
 * For "pairs" sources (any two fields mapped to prompt and answer): the mapping the importer chose,
 * editable per file; "Re-import" runs the import again with the edited mappings.
 */
import { useState } from 'preact/hooks';
import { type FieldMapping, FieldMappingSchema, type SourceSummary } from '../../schema/dataset.ts';
import { type ImportState, startImport, updateForm } from './import-store.ts';
import { parseFieldList } from './settings.ts';

interface Draft {
  prompt: string;
  answer: string;
  system: string;
}

const draftOf = (m: FieldMapping): Draft => ({ prompt: m.prompt.join(', '), answer: m.answer, system: m.system ?? '' });

export function MappingEditor({ sources, state }: { sources: SourceSummary[]; state: ImportState }) {
  const pairs = sources.filter(
    (s): s is SourceSummary & { mapping: FieldMapping } => s.format === 'pairs' && s.mapping !== null,
  );
  const [drafts, setDrafts] = useState<Record<string, Draft>>({});
  const [error, setError] = useState<string | null>(null);
  if (pairs.length === 0) return null;
  const draft = (s: SourceSummary & { mapping: FieldMapping }) => drafts[s.path] ?? draftOf(s.mapping);
  const edit = (path: string, base: Draft, patch: Partial<Draft>) =>
    setDrafts((d) => ({ ...d, [path]: { ...base, ...patch } }));

  const apply = () => {
    const mappings: Record<string, FieldMapping> = { ...state.form.mappings };
    for (const s of pairs) {
      const d = draft(s);
      const parsed = FieldMappingSchema.safeParse({
        prompt: parseFieldList(d.prompt),
        answer: d.answer.trim(),
        ...(d.system.trim() ? { system: d.system.trim() } : {}),
      });
      if (!parsed.success) {
        setError(
          `${s.path}: give at least one prompt field and an answer field (field names as in the file, prompt fields separated by commas).`,
        );
        return;
      }
      mappings[s.path] = parsed.data;
    }
    setError(null);
    updateForm({ mappings });
    void startImport();
  };

  return (
    <section aria-labelledby="mapping-title" data-testid="mapping">
      <h3 id="mapping-title">Field mapping</h3>
      <p class="muted small">
        These files hold pairs of fields. Check which field is the prompt and which is the answer; several prompt fields
        are joined with a blank line.
      </p>
      {pairs.map((s, i) => {
        const d = draft(s);
        return (
          <fieldset class="mapping">
            <legend class="mono path">{s.path}</legend>
            <div class="field">
              <label for={`map-prompt-${i}`}>Prompt field(s)</label>
              <input
                id={`map-prompt-${i}`}
                value={d.prompt}
                onInput={(e) => edit(s.path, d, { prompt: e.currentTarget.value })}
              />
            </div>
            <div class="field">
              <label for={`map-answer-${i}`}>Answer field</label>
              <input
                id={`map-answer-${i}`}
                value={d.answer}
                onInput={(e) => edit(s.path, d, { answer: e.currentTarget.value })}
              />
            </div>
            <div class="field">
              <label for={`map-system-${i}`}>System field (optional)</label>
              <input
                id={`map-system-${i}`}
                value={d.system}
                onInput={(e) => edit(s.path, d, { system: e.currentTarget.value })}
              />
            </div>
          </fieldset>
        );
      })}
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
      <div class="actions">
        <button type="button" class="button" onClick={apply} data-testid="mapping-reimport">
          Re-import with this mapping
        </button>
      </div>
    </section>
  );
}
