/**
 * Error categories for validity breakdowns, derived from each tool's own message text.
 * The message itself is never rewritten; the category is only a label beside it.
 *
 * | validator | category              | message it comes from                                          |
 * |-----------|-----------------------|----------------------------------------------------------------|
 * | any       | `empty`               | the input is empty or whitespace                                |
 * | asp       | `syntax`              | clingo `error: syntax error, unexpected ...`                   |
 * | asp       | `lexer`               | clingo `error: lexer error, unexpected ...` (e.g. non-ASCII)    |
 * | asp       | `unsafe-variable`     | clingo `error: unsafe variables in: ...`                       |
 * | asp       | `global-variable`     | clingo `error: global variable in tuple of aggregate element`  |
 * | asp       | `redefinition`        | clingo `error: redefinition of ...`                             |
 * | asp       | `grounding`           | any other error after which clingo says `grounding stopped`    |
 * | asp       | `parsing`             | any other error after which clingo says `parsing failed`       |
 * | asp       | `unsatisfiable`       | only with `requireSatisfiable`: clingo's result UNSATISFIABLE  |
 * | asp (w)   | `undefined-atom`      | clingo `info: atom does not occur in any rule head`            |
 * | asp (w)   | `operation-undefined` | clingo `info: operation undefined`                              |
 * | asp (w)   | `info`                | any other clingo `info:` / `warning:` / `*** Warn`             |
 * | dot       | `unterminated-string` | Graphviz `syntax error ... scanning a quoted string`            |
 * | dot       | `syntax`              | Graphviz `syntax error in line N ...`                           |
 * | dot       | `html-label`          | Graphviz messages about HTML-like labels                        |
 * | dot       | `no-graph`            | Graphviz produced nothing: no graph in the input                |
 * | dot       | `layout`              | any other Graphviz error                                        |
 * | json      | `syntax`              | `JSON.parse` threw                                              |
 * | json      | `schema-<keyword>`    | schema error for a keyword: `schema-required`, `schema-type`, ...   |
 * | sql       | `syntax`              | SQLite `near "...": syntax error`                               |
 * | sql       | `incomplete`          | SQLite `incomplete input`                                       |
 * | sql       | `unrecognized-token`  | SQLite `unrecognized token: ...`                                |
 * | sql (w*)  | `no-such-table`       | SQLite `no such table: ...` (a warning without a schema)        |
 * | sql (w*)  | `no-such-column`      | SQLite `no such column: ...` (a warning without a schema)       |
 * | sql       | `no-such-function`    | SQLite `no such function: ...`                                  |
 * | sql       | `ambiguous-column`    | SQLite `ambiguous column name: ...`                             |
 * | sql       | `wrong-arguments`     | SQLite `wrong number of arguments to function ...`              |
 * | sql       | `misuse-aggregate`    | SQLite `misuse of aggregate ...`                                |
 * | sql       | `semantic`            | any other SQLite prepare error                                  |
 *
 * (w) marks warnings: they never make a text invalid.
 */

const ASP_RULES: Array<[RegExp, string]> = [
  [/syntax error/, 'syntax'],
  [/lexer error/, 'lexer'],
  [/unsafe variables/, 'unsafe-variable'],
  [/global variable/, 'global-variable'],
  [/redefinition of/, 'redefinition'],
  [/atom does not occur in any rule head/, 'undefined-atom'],
  [/operation undefined/, 'operation-undefined'],
];

/** `stage` is clingo's closing line: `parsing failed` or `grounding stopped because of errors`. */
export function aspErrorKind(message: string, stage?: string): string {
  for (const [re, kind] of ASP_RULES) if (re.test(message)) return kind;
  if (/\binfo:|\bwarning:|\*\*\* Warn/.test(message)) return 'info';
  if (stage && /parsing/.test(stage)) return 'parsing';
  return 'grounding';
}

export function dotErrorKind(message: string): string {
  if (/scanning a quoted string/.test(message)) return 'unterminated-string';
  if (/html|HTML/.test(message)) return 'html-label';
  if (/syntax error/.test(message)) return 'syntax';
  return 'layout';
}

export function jsonSchemaErrorKind(keyword: string): string {
  return `schema-${keyword}`;
}

const SQL_RULES: Array<[RegExp, string]> = [
  [/syntax error/, 'syntax'],
  [/^incomplete input/, 'incomplete'],
  [/^unrecognized token/, 'unrecognized-token'],
  [/^no such table/, 'no-such-table'],
  [/^no such column/, 'no-such-column'],
  [/^no such function/, 'no-such-function'],
  [/^ambiguous column name/, 'ambiguous-column'],
  [/wrong number of arguments/, 'wrong-arguments'],
  [/misuse of (aggregate|window)/, 'misuse-aggregate'],
];

export function sqlErrorKind(message: string): string {
  for (const [re, kind] of SQL_RULES) if (re.test(message)) return kind;
  return 'semantic';
}

/** SQL categories that only mean "this name is not in the schema". */
export const SQL_NAME_KINDS: ReadonlySet<string> = new Set(['no-such-table', 'no-such-column']);
