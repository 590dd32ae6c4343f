/**
 * Timing of bulk validation: `n` answers made by cycling through real answers (each tagged with a
 * comment holding its index, so no two texts are identical), validated one after another with one
 * validator. Used by `npm run cli -- validate --bench` and by the browser page in a worker.
 */
import type { Validator, ValidatorKind } from './types.ts';

const COMMENT: Record<ValidatorKind, ((i: number) => string) | undefined> = {
  asp: (i) => `\n% answer ${i}`,
  dot: (i) => `\n// answer ${i}`,
  sql: (i) => `\n-- answer ${i}`,
  json: undefined,
};

export function benchTexts(kind: ValidatorKind, answers: readonly string[], n: number): string[] {
  if (answers.length === 0) throw new Error(`no ${kind} answers to time`);
  const tag = COMMENT[kind];
  return Array.from({ length: n }, (_, i) => {
    const text = answers[i % answers.length]!;
    return tag ? text + tag(i) : text;
  });
}

export interface BenchResult {
  kind: ValidatorKind;
  validator: string;
  n: number;
  valid: number;
  /** Wall time of all validations, including the first call's WASM load. */
  ms: number;
  /** Time of the first validation alone (loads the WASM). */
  firstMs: number;
}

export async function timeValidation(validator: Validator, texts: readonly string[]): Promise<BenchResult> {
  let valid = 0;
  let firstMs = 0;
  const t0 = performance.now();
  for (let i = 0; i < texts.length; i++) {
    if ((await validator.validate(texts[i]!)).ok) valid++;
    if (i === 0) firstMs = performance.now() - t0;
  }
  const ms = performance.now() - t0;
  return { kind: validator.kind, validator: validator.label, n: texts.length, valid, ms, firstMs };
}
