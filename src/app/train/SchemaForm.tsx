/**
 * A form generated from a zod schema (through its JSON Schema): numbers, booleans, enums, multi-choice arrays of enums,
 * optional values, nested objects as fieldsets, and unions (e.g. "all layers | top N | a list") as a kind picker plus
 * the chosen kind's field. Labels and help come from the schema's `.meta({ title, description })`, so the schema stays
 * the single home of names, limits and defaults.
 */
import type { JSX } from 'preact';

export interface JsonSchema {
  type?: string;
  title?: string;
  description?: string;
  default?: unknown;
  const?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
}

type Value = unknown;
type OnChange = (path: string[], value: Value) => void;

/** "maxGradNorm" → "Max grad norm" when the schema has no title. */
function humanize(key: string): string {
  const s = key.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

const id = (path: string[]) => `cfg-${path.join('-')}`;

const numberStep = (s: JsonSchema): string => (s.type === 'integer' ? '1' : 'any');

function NumberInput({
  s,
  path,
  value,
  onChange,
  optional,
}: {
  s: JsonSchema;
  path: string[];
  value: Value;
  onChange: OnChange;
  optional: boolean;
}) {
  const min = s.minimum ?? s.exclusiveMinimum;
  const max = s.maximum !== undefined && s.maximum < 1e15 ? s.maximum : s.exclusiveMaximum;
  return (
    <input
      id={id(path)}
      type="number"
      inputMode="decimal"
      step={numberStep(s)}
      {...(min !== undefined ? { min } : {})}
      {...(max !== undefined ? { max } : {})}
      value={value === undefined || value === null ? '' : String(value)}
      placeholder={optional ? 'not set' : ''}
      onInput={(e) => {
        const raw = (e.currentTarget as HTMLInputElement).value.trim();
        onChange(path, raw === '' ? undefined : Number(raw));
      }}
    />
  );
}

function EnumMulti({ s, path, value, onChange }: { s: JsonSchema; path: string[]; value: Value; onChange: OnChange }) {
  const all = (s.items?.enum ?? []) as string[];
  const chosen = new Set(Array.isArray(value) ? (value as string[]) : []);
  return (
    <div class="choice-grid" role="group" aria-labelledby={`${id(path)}-label`}>
      {all.map((opt) => (
        <label class="check">
          <input
            type="checkbox"
            checked={chosen.has(opt)}
            onChange={(e) => {
              const next = new Set(chosen);
              if ((e.currentTarget as HTMLInputElement).checked) next.add(opt);
              else next.delete(opt);
              onChange(
                path,
                all.filter((o) => next.has(o)),
              );
            }}
          />
          <code>{opt}</code>
        </label>
      ))}
    </div>
  );
}

/** The kind of a union member, and whether a value belongs to it. */
function unionKinds(
  s: JsonSchema,
): { label: string; matches: (v: Value) => boolean; initial: Value; member: JsonSchema }[] {
  return (s.anyOf ?? []).map((m) => {
    if (m.const !== undefined)
      return { label: String(m.const), matches: (v) => v === m.const, initial: m.const, member: m };
    if (m.type === 'object') {
      const key = Object.keys(m.properties ?? {})[0] ?? 'value';
      return {
        label: `${key} N`,
        matches: (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
        initial: { [key]: 4 },
        member: m,
      };
    }
    if (m.type === 'array') return { label: 'list', matches: (v) => Array.isArray(v), initial: [0], member: m };
    return { label: m.type ?? 'value', matches: (v) => typeof v === m.type, initial: m.default, member: m };
  });
}

function UnionInput({ s, path, value, onChange }: { s: JsonSchema; path: string[]; value: Value; onChange: OnChange }) {
  const kinds = unionKinds(s);
  const current = Math.max(
    0,
    kinds.findIndex((k) => k.matches(value)),
  );
  const k = kinds[current]!;
  return (
    <div class="union">
      <select
        id={id(path)}
        value={String(current)}
        onChange={(e) => onChange(path, kinds[Number((e.currentTarget as HTMLSelectElement).value)]!.initial)}
      >
        {kinds.map((kind, i) => (
          <option value={String(i)}>{kind.label}</option>
        ))}
      </select>
      {k.member.type === 'object' &&
        Object.entries(k.member.properties ?? {}).map(([key, sub]) => (
          <NumberInput
            s={sub}
            path={[...path, key]}
            value={(value as Record<string, Value>)[key]}
            onChange={onChange}
            optional={false}
          />
        ))}
      {k.member.type === 'array' && (
        <input
          type="text"
          aria-label={`${s.title ?? 'values'} (comma-separated)`}
          value={Array.isArray(value) ? value.join(', ') : ''}
          onInput={(e) =>
            onChange(
              path,
              (e.currentTarget as HTMLInputElement).value
                .split(',')
                .map((x) => x.trim())
                .filter(Boolean)
                .map(Number),
            )
          }
        />
      )}
    </div>
  );
}

function Field({
  name,
  s,
  path,
  value,
  onChange,
  optional,
  errors,
}: {
  name: string;
  s: JsonSchema;
  path: string[];
  value: Value;
  onChange: OnChange;
  optional: boolean;
  errors: Map<string, string>;
}) {
  const label = s.title ?? humanize(name);
  const err = errors.get(path.join('.'));
  let control: JSX.Element;
  if (s.type === 'object' && s.properties) {
    return (
      <Fieldset
        s={s}
        path={path}
        value={value as Record<string, Value>}
        onChange={onChange}
        errors={errors}
        title={label}
      />
    );
  } else if (s.anyOf) control = <UnionInput s={s} path={path} value={value} onChange={onChange} />;
  else if (s.type === 'boolean')
    return (
      <div class={err ? 'field check-field invalid' : 'field check-field'}>
        <label class="check">
          <input
            id={id(path)}
            type="checkbox"
            checked={value === true}
            onChange={(e) => onChange(path, (e.currentTarget as HTMLInputElement).checked)}
          />
          {label}
        </label>
        {s.description && <p class="help">{s.description}</p>}
      </div>
    );
  else if (s.enum)
    control = (
      <select
        id={id(path)}
        value={String(value)}
        onChange={(e) => onChange(path, (e.currentTarget as HTMLSelectElement).value)}
      >
        {s.enum.map((o) => (
          <option value={String(o)}>{String(o)}</option>
        ))}
      </select>
    );
  else if (s.type === 'array' && s.items?.enum)
    control = <EnumMulti s={s} path={path} value={value} onChange={onChange} />;
  else control = <NumberInput s={s} path={path} value={value} onChange={onChange} optional={optional} />;
  return (
    <div class={err ? 'field invalid' : 'field'} data-field={path.join('.')}>
      <label for={id(path)} id={`${id(path)}-label`}>
        {label}
      </label>
      {control}
      {err ? <p class="error-text">{err}</p> : s.description && <p class="help">{s.description}</p>}
    </div>
  );
}

function Fieldset({
  s,
  path,
  value,
  onChange,
  errors,
  title,
}: {
  s: JsonSchema;
  path: string[];
  value: Record<string, Value>;
  onChange: OnChange;
  errors: Map<string, string>;
  title?: string;
}) {
  const fields = Object.entries(s.properties ?? {}).map(([key, sub]) => (
    <Field
      name={key}
      s={sub}
      path={[...path, key]}
      value={value?.[key]}
      onChange={onChange}
      optional={sub.default === undefined}
      errors={errors}
    />
  ));
  if (!title) return <div class="form-grid">{fields}</div>;
  return (
    <fieldset class="form-group">
      <legend>{title}</legend>
      <div class="form-grid">{fields}</div>
    </fieldset>
  );
}

/** The whole form: top-level scalars first, then each nested group. */
export function SchemaForm({
  schema,
  value,
  onChange,
  errors,
}: {
  schema: JsonSchema;
  value: Record<string, Value>;
  onChange: OnChange;
  errors: Map<string, string>;
}) {
  const entries = Object.entries(schema.properties ?? {});
  const scalars = { ...schema, properties: Object.fromEntries(entries.filter(([, s]) => s.type !== 'object')) };
  const groups = entries.filter(([, s]) => s.type === 'object');
  return (
    <div class="schema-form">
      {groups.map(([key, s]) => (
        <Fieldset
          s={s}
          path={[key]}
          value={value[key] as Record<string, Value>}
          onChange={onChange}
          errors={errors}
          title={s.title ?? humanize(key)}
        />
      ))}
      <Fieldset s={scalars} path={[]} value={value} onChange={onChange} errors={errors} title="Training" />
    </div>
  );
}

/** Only the fields at `paths` (each a path into the schema), in one grid: the form's short version. */
export function SchemaFields({
  schema,
  paths,
  value,
  onChange,
  errors,
}: {
  schema: JsonSchema;
  paths: readonly (readonly string[])[];
  value: Record<string, Value>;
  onChange: OnChange;
  errors: Map<string, string>;
}) {
  const fields = paths.map((path) => {
    let s: JsonSchema | undefined = schema;
    let v: Value = value;
    for (const key of path) {
      s = s?.properties?.[key];
      v = (v as Record<string, Value> | undefined)?.[key];
    }
    if (!s) throw new Error(`The settings schema has no field ${path.join('.')}`);
    return (
      <Field
        name={path.at(-1)!}
        s={s}
        path={[...path]}
        value={v}
        onChange={onChange}
        optional={s.default === undefined}
        errors={errors}
      />
    );
  });
  return <div class="schema-form form-grid">{fields}</div>;
}

/** Sets `path` in a nested object, copying along the way; undefined removes the key. */
export function setPath(obj: Record<string, Value>, path: string[], value: Value): Record<string, Value> {
  const [head, ...rest] = path;
  if (head === undefined) return obj;
  const next = { ...obj };
  if (rest.length === 0) {
    if (value === undefined) delete next[head];
    else next[head] = value;
  } else next[head] = setPath((obj[head] as Record<string, Value>) ?? {}, rest, value);
  return next;
}
