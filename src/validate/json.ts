/**
 * JSON validator: `JSON.parse` (the engine's own message: V8 in Node and Chromium), then, when a schema is given,
 * @cfworker/json-schema (draft-07 by default; 04, 2019-09 or 2020-12 when the schema's `$schema` says so) with its own
 * error text, prefixed by the failing value's JSON pointer (`#/age: -1 is less than 0.`). It interprets the schema
 * instead of compiling it into a function, so it runs under the app's Content-Security-Policy, which allows no `eval`
 * (src/app/csp.ts). The schema is first checked against JSON_META_SCHEMA (json-meta-schema.ts).
 */
import { Validator as SchemaValidator, type OutputUnit, type Schema, type SchemaDraft } from '@cfworker/json-schema';
import { JSON_META_SCHEMA } from './json-meta-schema.ts';
import { jsonSchemaErrorKind } from './kinds.ts';
import {
  emptyInputResult,
  type JsonOptions,
  type ValidationError,
  type ValidationResult,
  type Validator,
} from './types.ts';

function draftOf(schema: object): SchemaDraft {
  const uri = (schema as { $schema?: unknown }).$schema;
  const draft = typeof uri === 'string' ? uri : '';
  if (draft.includes('2020-12')) return '2020-12';
  if (draft.includes('2019-09')) return '2019-09';
  if (draft.includes('draft-04')) return '4';
  return '7';
}

/**
 * The errors worth showing. The validator reports a failing container keyword (`properties`, `items`, `allOf`, ...)
 * and then each failure inside it; the inner ones say more, so a container whose keyword location prefixes another
 * error's is dropped. A `false` schema's own "False boolean schema." is dropped in favour of the keyword that used it
 * (`additionalProperties`, `items`).
 */
function leafErrors(errors: readonly OutputUnit[]): OutputUnit[] {
  const kept = errors.filter((e) => e.keyword !== 'false');
  return kept.filter((e) => !kept.some((f) => f !== e && f.keywordLocation.startsWith(`${e.keywordLocation}/`)));
}

function schemaError(e: OutputUnit): string {
  return `${e.instanceLocation}: ${e.error}`;
}

function compile(schema: object): SchemaValidator {
  const meta = new SchemaValidator(JSON_META_SCHEMA, '2020-12', false).validate(schema);
  if (!meta.valid) {
    const first = leafErrors(meta.errors)[0] ?? meta.errors[0];
    throw new Error(`invalid JSON schema: ${first ? schemaError(first) : 'not a schema'}`);
  }
  try {
    return new SchemaValidator(schema as Schema, draftOf(schema), false);
  } catch (e) {
    throw new Error(`invalid JSON schema: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Position of a `JSON.parse` error, from V8 (`at position 12`, `(line 2 column 3)`) or Firefox. */
export function jsonErrorLocation(message: string, text: string): { line: number; col: number } | undefined {
  const lc = /line (\d+) column (\d+)/.exec(message);
  if (lc) return { line: Number(lc[1]), col: Number(lc[2]) };
  const pos = /at position (\d+)/.exec(message);
  if (!pos) return undefined;
  const offset = Math.min(Number(pos[1]), text.length);
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}

export class JsonValidator implements Validator {
  readonly kind = 'json' as const;
  readonly label: string;
  private readonly schema: object | undefined;
  private compiled: SchemaValidator | undefined;

  constructor(options: JsonOptions = {}) {
    this.schema = options.schema;
    this.label = options.schema ? 'JSON.parse + @cfworker/json-schema' : 'JSON.parse';
  }

  async validate(text: string): Promise<ValidationResult> {
    if (text.trim() === '') return emptyInputResult();
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      return { ok: false, errors: [{ message, kind: 'syntax', ...jsonErrorLocation(message, text) }] };
    }
    if (!this.schema) return { ok: true, errors: [] };
    this.compiled ??= compile(this.schema);
    const result = this.compiled.validate(value);
    if (result.valid) return { ok: true, errors: [] };
    const errors: ValidationError[] = leafErrors(result.errors).map((e) => ({
      message: schemaError(e),
      kind: jsonSchemaErrorKind(e.keyword),
    }));
    return { ok: false, errors };
  }
}
