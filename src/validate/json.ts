/**
 * JSON validator: `JSON.parse` (the engine's own message: V8 in Node and Chromium), then, when a
 * schema is given, Ajv (draft-07 by default; 2019-09 or 2020-12 when the schema's `$schema` says
 * so) with Ajv's own error text (`data/age must be integer`).
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { jsonSchemaErrorKind } from './kinds.ts';
import {
  emptyInputResult,
  type JsonOptions,
  type ValidationError,
  type ValidationResult,
  type Validator,
} from './types.ts';

interface AjvInstance {
  compile(schema: object): ValidateFunction;
  errorsText(errors: ErrorObject[]): string;
}
type AjvConstructor = new (options: { allErrors: boolean; strict: boolean }) => AjvInstance;

/** CommonJS interop: Node gives `module.exports` as `default`, bundlers may give `exports.default`. */
function constructorOf(mod: { default: unknown }): AjvConstructor {
  const d = mod.default as { default?: unknown };
  const ctor = (typeof d.default === 'function' ? d.default : d) as AjvConstructor;
  if (typeof ctor !== 'function') throw new Error('ajv: constructor not found');
  return ctor;
}

async function ajvFor(schema: object): Promise<AjvInstance> {
  const uri = (schema as { $schema?: unknown }).$schema;
  const draft = typeof uri === 'string' ? uri : '';
  const mod = draft.includes('2020-12')
    ? await import('ajv/dist/2020.js')
    : draft.includes('2019-09')
      ? await import('ajv/dist/2019.js')
      : await import('ajv');
  const Ajv = constructorOf(mod);
  // strict: false accepts schemas with formats or keywords Ajv does not know (they are ignored).
  return new Ajv({ allErrors: true, strict: false });
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
  private compiled: Promise<{ ajv: AjvInstance; check: ValidateFunction }> | undefined;

  constructor(options: JsonOptions = {}) {
    this.schema = options.schema;
    this.label = options.schema ? 'JSON.parse + Ajv' : 'JSON.parse';
  }

  private schemaCheck(schema: object): Promise<{ ajv: AjvInstance; check: ValidateFunction }> {
    this.compiled ??= ajvFor(schema).then((ajv) => {
      try {
        return { ajv, check: ajv.compile(schema) };
      } catch (e) {
        throw new Error(`invalid JSON schema: ${e instanceof Error ? e.message : String(e)}`);
      }
    });
    return this.compiled;
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
    const { ajv, check } = await this.schemaCheck(this.schema);
    if (check(value)) return { ok: true, errors: [] };
    const errors: ValidationError[] = (check.errors ?? []).map((err) => ({
      message: ajv.errorsText([err]),
      kind: jsonSchemaErrorKind(err.keyword),
    }));
    return { ok: false, errors };
  }
}
