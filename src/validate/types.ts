/**
 * The validator contract. Every validator wraps a real implementation (clingo, Graphviz, SQLite,
 * JSON.parse + @cfworker/json-schema) and reports that implementation's own messages verbatim; nothing here is a
 * regex stand-in for a parser.
 *
 * Validators are plain ES modules with no `node:` imports, so the same code runs in Node (tests,
 * CLI) and in a browser worker (`./worker.ts`).
 */

import { VALIDATOR_KINDS as KINDS, type ValidatorKind } from '../schema/runs.ts';

export type { ValidatorKind };

export const VALIDATOR_KINDS: readonly ValidatorKind[] = KINDS;

export function isValidatorKind(value: unknown): value is ValidatorKind {
  return typeof value === 'string' && (VALIDATOR_KINDS as readonly string[]).includes(value);
}

/** One message from the underlying tool. */
export interface ValidationError {
  /** The tool's message, verbatim (clingo prints location prefixes such as `-:3:1-5:`; they stay). */
  message: string;
  /** 1-based line, when the tool gives one. */
  line?: number;
  /** 1-based column, when the tool gives one. */
  col?: number;
  /** Category for breakdowns, derived from the message; see `./kinds.ts` for the list. */
  kind?: string;
}

export interface ValidationResult {
  ok: boolean;
  /** Empty when `ok`. */
  errors: ValidationError[];
  /** Messages that do not make the text invalid (clingo `info:`, unresolved SQL names without a schema). */
  warnings?: ValidationError[];
  /** Extra facts from the tool, e.g. `{ result: 'SATISFIABLE' }` for ASP. */
  detail?: Record<string, string | number | boolean>;
}

export interface Validator {
  readonly kind: ValidatorKind;
  /** Human-readable name of the implementation, e.g. `clingo 5.8.1`. Known after the first call. */
  readonly label: string;
  validate(text: string): Promise<ValidationResult>;
}

export interface AspOptions {
  /** Treat an unsatisfiable program as invalid (default false: UNSAT programs are valid ASP). */
  requireSatisfiable?: boolean;
  /**
   * clasp `--solve-limit` (conflicts) so that validation of a hard program cannot search forever;
   * the result is then `UNKNOWN`, which is not an error. Default 20000.
   */
  solveLimit?: number;
  /** Ignore `#minimize`/`#maximize` while validating (default true): optimality is not validity. */
  ignoreOptimization?: boolean;
}

export interface DotOptions {
  /** Graphviz layout engine run after parsing (default `dot`, like the `dot` command). */
  engine?: 'dot' | 'neato' | 'fdp' | 'sfdp' | 'circo' | 'twopi' | 'osage' | 'patchwork';
}

export interface JsonOptions {
  /** A JSON Schema (draft-07, 2019-09 or 2020-12 by its `$schema`); without it only syntax is checked. */
  schema?: object;
}

export interface SqlOptions {
  /**
   * DDL run before the text (`CREATE TABLE ...`). With a schema, unknown tables and columns are
   * errors; without one they are reported as warnings, since SQLite resolves names only after the
   * statement has parsed.
   */
  schema?: string;
}

export interface ValidatorOptions {
  asp?: AspOptions;
  dot?: DotOptions;
  json?: JsonOptions;
  sql?: SqlOptions;
}

/**
 * The validator's exact error text as shown to a user (and put in repair prompts): the messages
 * verbatim, one per line, or separated by a blank line when any spans several lines (as clingo
 * prints them).
 */
export function formatErrors(result: ValidationResult): string {
  const messages = result.errors.map((e) => e.message);
  return messages.join(messages.some((m) => m.includes('\n')) ? '\n\n' : '\n');
}

/** Result for empty or whitespace-only input: no code at all is never a valid answer. */
export function emptyInputResult(): ValidationResult {
  return { ok: false, errors: [{ message: 'empty input: no code to validate', kind: 'empty' }] };
}
