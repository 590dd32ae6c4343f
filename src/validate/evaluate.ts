/**
 * Validity evaluation of generated answers: the validity rate, invalid answers broken down by the
 * category of their first error (`./kinds.ts`), the solver result counts where the validator has
 * one (ASP), and exact match against the reference where one is known. Two reports over the same
 * prompts (base model vs adapter) compare with `compareRuns`.
 */
import { extractCode, type Extracted } from './extract.ts';
import { createValidator } from './registry.ts';
import { schemaFromPrompt } from './sql-text.ts';
import type { ValidationError, Validator, ValidatorKind } from './types.ts';

export interface EvalItem {
  prompt?: string;
  /** The generated answer. */
  answer: string;
  /** The known-good answer, when there is one. */
  reference?: string;
}

export interface ItemOutcome {
  ok: boolean;
  from: Extracted['from'];
  /** Category of the first error (invalid answers only). */
  errorKind?: string;
  errors: ValidationError[];
  /** Whether the extracted code equals the reference's (whitespace-normalized); absent without a reference. */
  exact?: boolean;
  /** The validator's result word, e.g. `SATISFIABLE` (ASP). */
  result?: string;
}

export interface EvalReport {
  kind: ValidatorKind;
  validator: string;
  n: number;
  valid: number;
  validityRate: number;
  /** Invalid answers per category of their first error. */
  errorKinds: Record<string, number>;
  /** Valid answers per validator result word (ASP: SATISFIABLE / UNSATISFIABLE / UNKNOWN). */
  results: Record<string, number>;
  exactMatch: { n: number; matches: number; rate: number } | null;
  items: ItemOutcome[];
}

export interface EvalOptions {
  /** Pull the code out of each answer first (default true). */
  extract?: boolean;
  /** SQL: build the schema from table hints in each prompt, so unknown names are errors (default true). */
  sqlSchemaFromPrompt?: boolean;
}

/** Code compared for exact match: line endings unified, trailing spaces and outer blank lines dropped. */
export function normalizeForMatch(code: string): string {
  return code
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((l) => l.replace(/[ \t]+$/, ''))
    .join('\n')
    .trim();
}

function increment(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

export async function evaluateValidity(
  kind: ValidatorKind,
  items: readonly EvalItem[],
  validator: Validator,
  options: EvalOptions = {},
): Promise<EvalReport> {
  const extract = options.extract ?? true;
  const perSchema = new Map<string, Validator>();
  const validatorFor = (item: EvalItem): Validator => {
    if (kind !== 'sql' || options.sqlSchemaFromPrompt === false || !item.prompt) return validator;
    const schema = schemaFromPrompt(item.prompt);
    if (!schema) return validator;
    let v = perSchema.get(schema);
    if (!v) {
      v = createValidator('sql', { sql: { schema } });
      perSchema.set(schema, v);
    }
    return v;
  };

  const outcomes: ItemOutcome[] = [];
  const errorKinds: Record<string, number> = {};
  const results: Record<string, number> = {};
  let valid = 0;
  let withRef = 0;
  let matches = 0;
  for (const item of items) {
    const got = extract ? extractCode(item.answer, kind) : { code: item.answer, from: 'raw' as const };
    const res = await validatorFor(item).validate(got.code);
    const outcome: ItemOutcome = { ok: res.ok, from: got.from, errors: res.errors };
    if (res.ok) {
      valid++;
      const word = res.detail?.result;
      if (typeof word === 'string') {
        outcome.result = word;
        increment(results, word);
      }
    } else {
      outcome.errorKind = res.errors[0]?.kind ?? 'unknown';
      increment(errorKinds, outcome.errorKind);
    }
    if (item.reference !== undefined) {
      const ref = extract ? extractCode(item.reference, kind).code : item.reference;
      outcome.exact = normalizeForMatch(got.code) === normalizeForMatch(ref);
      withRef++;
      if (outcome.exact) matches++;
    }
    outcomes.push(outcome);
  }
  const n = items.length;
  return {
    kind,
    validator: validator.label,
    n,
    valid,
    validityRate: n === 0 ? 0 : valid / n,
    errorKinds,
    results,
    exactMatch: withRef === 0 ? null : { n: withRef, matches, rate: matches / withRef },
    items: outcomes,
  };
}

export interface Delta {
  base: number;
  other: number;
  delta: number;
}

export interface RunComparison {
  validityRate: Delta;
  exactMatchRate: Delta | null;
  /** Invalid answers per error category, base vs other. */
  errorKinds: Record<string, Delta>;
  /** Items invalid in the base run and valid in the other. */
  fixed: number[];
  /** Items valid in the base run and invalid in the other. */
  broken: number[];
}

function delta(base: number, other: number): Delta {
  return { base, other, delta: other - base };
}

/** Base model vs adapter over the same items (same order). */
export function compareRuns(base: EvalReport, other: EvalReport): RunComparison {
  if (base.n !== other.n || base.kind !== other.kind) {
    throw new Error(`runs are not comparable: ${base.kind}×${base.n} vs ${other.kind}×${other.n}`);
  }
  const kinds = new Set([...Object.keys(base.errorKinds), ...Object.keys(other.errorKinds)]);
  const errorKinds: Record<string, Delta> = {};
  for (const k of [...kinds].sort()) errorKinds[k] = delta(base.errorKinds[k] ?? 0, other.errorKinds[k] ?? 0);
  const fixed: number[] = [];
  const broken: number[] = [];
  base.items.forEach((b, i) => {
    const o = other.items[i]!;
    if (!b.ok && o.ok) fixed.push(i);
    if (b.ok && !o.ok) broken.push(i);
  });
  return {
    validityRate: delta(base.validityRate, other.validityRate),
    exactMatchRate: base.exactMatch && other.exactMatch ? delta(base.exactMatch.rate, other.exactMatch.rate) : null,
    errorKinds,
    fixed,
    broken,
  };
}
