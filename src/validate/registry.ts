/**
 * The validator registry: one entry per kind, each backed by a real implementation.
 * Implementations load their WebAssembly lazily on the first `validate`, so importing the
 * registry is cheap.
 */
import { AspValidator } from './asp.ts';
import { DotValidator } from './dot.ts';
import { JsonValidator } from './json.ts';
import { SqlValidator } from './sql.ts';
import type { ValidationResult, Validator, ValidatorKind, ValidatorOptions } from './types.ts';

export interface ValidatorInfo {
  kind: ValidatorKind;
  /** What the kind is called in prompts and the UI. */
  language: string;
  /** The implementation behind it. */
  implementation: string;
  /** Info string for a Markdown fence. */
  fence: string;
}

export const VALIDATORS: Readonly<Record<ValidatorKind, ValidatorInfo>> = {
  asp: { kind: 'asp', language: 'ASP program', implementation: 'clingo (clingo-wasm)', fence: 'asp' },
  dot: {
    kind: 'dot',
    language: 'Graphviz DOT graph',
    implementation: 'Graphviz (@hpcc-js/wasm-graphviz)',
    fence: 'dot',
  },
  json: {
    kind: 'json',
    language: 'JSON document',
    implementation: 'JSON.parse + @cfworker/json-schema',
    fence: 'json',
  },
  sql: { kind: 'sql', language: 'SQLite query', implementation: 'SQLite prepare (sql.js)', fence: 'sql' },
};

/** A new validator for `kind`; options for other kinds are ignored. */
export function createValidator(kind: ValidatorKind, options: ValidatorOptions = {}): Validator {
  switch (kind) {
    case 'asp':
      return new AspValidator(options.asp);
    case 'dot':
      return new DotValidator(options.dot);
    case 'json':
      return new JsonValidator(options.json);
    case 'sql':
      return new SqlValidator(options.sql);
  }
}

const shared = new Map<ValidatorKind, Validator>();

/** The default-option validator for `kind`, created once and shared (its WASM loads once). */
export function getValidator(kind: ValidatorKind): Validator {
  let v = shared.get(kind);
  if (!v) {
    v = createValidator(kind);
    shared.set(kind, v);
  }
  return v;
}

/**
 * Validates texts one after another with the same validator (the WASM engines are single
 * threaded; run this in `./worker.ts` to keep a page responsive).
 */
export async function validateAll(validator: Validator, texts: readonly string[]): Promise<ValidationResult[]> {
  const out: ValidationResult[] = [];
  for (const text of texts) out.push(await validator.validate(text));
  return out;
}
