/**
 * Text helpers for the SQL validator: splitting a script into statements (so each is prepared on
 * its own and one unresolved table does not hide the rest), and reading a table hint such as
 * `Table employees(id, name, dept)` from a prompt into DDL.
 *
 * The splitter follows SQLite's lexical rules for what can hide a semicolon: '...' strings,
 * "..." / `...` / [...] identifiers, -- and /* *\/ comments, and CREATE TRIGGER bodies
 * (BEGIN ... END, with CASE ... END inside).
 */

export interface SqlStatement {
  text: string;
  /** Offset of the statement's first character in the script. */
  offset: number;
  line: number;
  col: number;
}

function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  return { line: before.split('\n').length, col: offset - before.lastIndexOf('\n') };
}

/** Index just past a quoted run starting at `i` (SQLite doubles the quote to escape it). */
function skipQuoted(sql: string, i: number, close: string): number {
  let j = i + 1;
  while (j < sql.length) {
    if (sql[j] === close) {
      if (close !== ']' && sql[j + 1] === close) {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j++;
  }
  return sql.length;
}

const WORD = /[A-Za-z_][A-Za-z0-9_$]*/y;

/** Splits a script into statements, skipping ones that are only whitespace and comments. */
export function splitSqlStatements(sql: string): SqlStatement[] {
  const out: SqlStatement[] = [];
  let start = 0;
  let hasCode = false;
  let firstCode = 0;
  let words: string[] = [];
  let depth = 0;

  const finish = (end: number) => {
    if (hasCode) {
      const text = sql.slice(firstCode, end).trim();
      out.push({ text, offset: firstCode, ...lineCol(sql, firstCode) });
    }
    hasCode = false;
    words = [];
    depth = 0;
  };

  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl + 1;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (!hasCode) {
      hasCode = true;
      firstCode = i;
    }
    if (c === "'" || c === '"' || c === '`' || c === '[') {
      i = skipQuoted(sql, i, c === '[' ? ']' : c);
      continue;
    }
    WORD.lastIndex = i;
    const w = WORD.exec(sql);
    if (w) {
      const upper = w[0].toUpperCase();
      words.push(upper);
      const isTrigger = words[0] === 'CREATE' && words.slice(1, 4).includes('TRIGGER');
      if (isTrigger && (upper === 'BEGIN' || upper === 'CASE')) depth++;
      if (isTrigger && upper === 'END' && depth > 0) depth--;
      i += w[0].length;
      continue;
    }
    if (c === ';' && depth === 0) {
      finish(i + 1);
      start = i + 1;
      i++;
      continue;
    }
    i++;
  }
  if (start < sql.length) finish(sql.length);
  return out;
}

/** Position of `token` inside a statement when it occurs exactly once there. */
export function locateToken(stmt: SqlStatement, token: string): { line: number; col: number } {
  const at = stmt.text.indexOf(token);
  if (token === '' || at < 0 || stmt.text.indexOf(token, at + 1) >= 0) return { line: stmt.line, col: stmt.col };
  const inner = lineCol(stmt.text, at);
  return inner.line === 1
    ? { line: stmt.line, col: stmt.col + inner.col - 1 }
    : { line: stmt.line + inner.line - 1, col: inner.col };
}

const IDENT = '[A-Za-z_][A-Za-z0-9_]*';
const TABLE_HINT = new RegExp(`\\b(${IDENT})\\s*\\(\\s*(${IDENT}(?:\\s*,\\s*${IDENT})*)\\s*\\)`, 'g');

/**
 * DDL from table hints in a prompt: `Table employees(id, name)` or
 * `Tables customers(id, name) and orders(id, total)`. Only sentences that mention a table are read.
 * Columns stay untyped, which SQLite allows. Returns '' when there is no hint.
 */
export function schemaFromPrompt(prompt: string): string {
  const tables = new Map<string, string[]>();
  for (const sentence of prompt.split(/(?<=[.!?])\s+|\n/)) {
    if (!/\btables?\b/i.test(sentence)) continue;
    for (const m of sentence.matchAll(TABLE_HINT)) {
      const name = m[1]!;
      if (/^tables?$/i.test(name) || tables.has(name)) continue;
      tables.set(
        name,
        m[2]!.split(',').map((s) => s.trim()),
      );
    }
  }
  return [...tables]
    .map(([name, cols]) => `CREATE TABLE "${name}" (${cols.map((c) => `"${c}"`).join(', ')});`)
    .join('\n');
}
