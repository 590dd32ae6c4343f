/**
 * The validation worker: runs the WASM validators off the page's main thread, exposed with
 * comlink (start it with `startValidateWorker()` from `./client.ts`). Browser only.
 *
 * clingo's .wasm is served as a Vite asset (`?url`); Graphviz and SQLite have theirs inlined.
 */
// First: zod must be jitless before any schema is built (CSP without eval).
import '../schema/jitless.ts';
import { expose } from 'comlink';
import clingoWasmUrl from 'clingo-wasm/src/clingo.wasm?url';
import { configureClingo } from './asp.ts';
import { benchTexts, timeValidation, type BenchResult } from './bench.ts';
import { evaluateValidity, type EvalItem, type EvalOptions, type EvalReport } from './evaluate.ts';
import { createValidator, validateAll } from './registry.ts';
import {
  repairTransform,
  type DatasetRecord,
  type RepairChat,
  type RepairOptions,
  type RepairPair,
  type RepairStats,
} from './repair.ts';
import type { ValidationResult, Validator, ValidatorKind, ValidatorOptions } from './types.ts';

configureClingo({ wasmUrl: new URL(clingoWasmUrl, self.location.href).href });

const validators = new Map<string, Validator>();

/** One validator per kind and options, kept so each WASM engine loads once per worker. */
function validatorFor(kind: ValidatorKind, options: ValidatorOptions = {}): Validator {
  const key = `${kind}:${JSON.stringify(options[kind] ?? {})}`;
  let v = validators.get(key);
  if (!v) {
    v = createValidator(kind, options);
    validators.set(key, v);
  }
  return v;
}

const api = {
  /** Validates each text; results in the same order. */
  async validateMany(kind: ValidatorKind, texts: string[], options?: ValidatorOptions): Promise<ValidationResult[]> {
    return validateAll(validatorFor(kind, options), texts);
  },

  /** Validity rate, error breakdown and exact match of generated answers. */
  async evaluate(
    kind: ValidatorKind,
    items: EvalItem[],
    options?: EvalOptions & { validator?: ValidatorOptions },
  ): Promise<EvalReport> {
    return evaluateValidity(kind, items, validatorFor(kind, options?.validator), options);
  },

  /** Repair records (same shape as the input records) made from valid answers. */
  async repair(
    kind: ValidatorKind,
    records: DatasetRecord[],
    options?: RepairOptions,
  ): Promise<{ records: Array<RepairPair | RepairChat>; stats: RepairStats }> {
    return repairTransform(kind, records, validatorFor(kind), options);
  },

  /** Validates `n` texts cycled from `answers` and returns the time taken. */
  async bench(kind: ValidatorKind, answers: string[], n: number): Promise<BenchResult> {
    return timeValidation(validatorFor(kind), benchTexts(kind, answers, n));
  },
};

export type ValidateWorkerApi = typeof api;

expose(api);
