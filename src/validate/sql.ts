/**
 * SQL validator: SQLite itself (`sql.js`, SQLite compiled to WebAssembly; the inline build, whose
 * .wasm is embedded in the JS, so nothing has to be served). Each statement is prepared with
 * `sqlite3_prepare_v2` on a fresh in-memory database, which is exactly what SQLite does before it
 * runs a query: the messages (`near "FORM": syntax error`, `no such column: nme`) are SQLite's.
 *
 * Why a real prepare rather than a grammar package: the SQLite dialect is whatever SQLite accepts,
 * and with a schema (given, or read from the prompt with `schemaFromPrompt`) the same prepare also
 * catches unknown tables and columns, wrong function arity and aggregate misuse.
 *
 * Statements are prepared, never stepped, except DDL (CREATE / DROP / ALTER), which is applied so
 * that later statements in the same answer see its tables. Without a schema SQLite cannot resolve
 * names, so `no such table` / `no such column` become warnings and the text is judged on syntax.
 */
import type { Database, SqlJsStatic } from 'sql.js';
import { SQL_NAME_KINDS, sqlErrorKind } from './kinds.ts';
import { locateToken, splitSqlStatements, type SqlStatement } from './sql-text.ts';
import {
  emptyInputResult,
  type SqlOptions,
  type ValidationError,
  type ValidationResult,
  type Validator,
} from './types.ts';

let sqlJs: Promise<SqlJsStatic> | undefined;

function loadSqlJs(): Promise<SqlJsStatic> {
  sqlJs ??= import('sql.js/dist/sql-wasm-inline.js').then((mod) => {
    const init = mod.default as unknown as ((config?: object) => Promise<SqlJsStatic>) & { default?: unknown };
    const fn = (typeof init.default === 'function' ? init.default : init) as (config?: object) => Promise<SqlJsStatic>;
    return fn();
  });
  sqlJs.catch(() => {
    sqlJs = undefined;
  });
  return sqlJs;
}

const DDL = /^(CREATE|DROP|ALTER)\b/i;

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The token a message points at: `near "X"`, `unrecognized token: "X"`, `no such column: X`. */
function pointedToken(message: string): string | undefined {
  const quoted = /^(?:near|unrecognized token:) "((?:[^"]|"")*)"/.exec(message);
  if (quoted) return quoted[1]!.replace(/""/g, '"');
  return /^no such (?:table|column|function): (\S+)$/.exec(message)?.[1];
}

/** The message with the statement's position, or the pointed token's when it occurs once in it. */
function located(message: string, stmt: SqlStatement): ValidationError {
  const token = pointedToken(message);
  const where = token ? locateToken(stmt, token) : { line: stmt.line, col: stmt.col };
  return { message, kind: sqlErrorKind(message), ...where };
}

export class SqlValidator implements Validator {
  readonly kind = 'sql' as const;
  label = 'SQLite (wasm)';
  private readonly schema: string | undefined;

  constructor(options: SqlOptions = {}) {
    this.schema = options.schema?.trim() ? options.schema : undefined;
  }

  private async openDatabase(): Promise<Database> {
    const SQL = await loadSqlJs();
    const db = new SQL.Database();
    if (this.label === 'SQLite (wasm)') {
      const version = db.exec('SELECT sqlite_version()')[0]?.values[0]?.[0];
      if (typeof version === 'string') this.label = `SQLite ${version}`;
    }
    if (this.schema) {
      try {
        db.exec(this.schema);
      } catch (e) {
        db.close();
        throw new Error(`invalid SQL schema: ${errorText(e)}`);
      }
    }
    return db;
  }

  async validate(text: string): Promise<ValidationResult> {
    if (text.trim() === '') return emptyInputResult();
    const statements = splitSqlStatements(text);
    if (statements.length === 0) {
      return { ok: false, errors: [{ message: 'no SQL statement in the input (only comments)', kind: 'empty' }] };
    }
    const db = await this.openDatabase();
    const errors: ValidationError[] = [];
    const warnings: ValidationError[] = [];
    try {
      for (const stmt of statements) {
        let prepared;
        try {
          prepared = db.prepare(stmt.text);
        } catch (e) {
          const err = located(errorText(e), stmt);
          if (!this.schema && SQL_NAME_KINDS.has(err.kind ?? '')) warnings.push(err);
          else errors.push(err);
          continue;
        }
        try {
          if (DDL.test(stmt.text)) prepared.step();
        } catch (e) {
          errors.push(located(errorText(e), stmt));
        } finally {
          prepared.free();
        }
      }
    } finally {
      db.close();
    }
    const out: ValidationResult = {
      ok: errors.length === 0,
      errors,
      detail: { statements: statements.length, schema: this.schema !== undefined },
    };
    if (warnings.length > 0) out.warnings = warnings;
    return out;
  }
}
