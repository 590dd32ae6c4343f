import { describe, expect, it } from 'vitest';
import { SqlValidator } from '../../../src/validate/sql.ts';
import { schemaFromPrompt, splitSqlStatements } from '../../../src/validate/sql-text.ts';
import { sqlChat } from './fixtures.ts';

describe('SQL validator (SQLite prepare)', () => {
  const sql = new SqlValidator();

  it("accepts good SQLite and rejects bad SQL with SQLite's messages", async () => {
    expect((await sql.validate('SELECT dept, AVG(salary) FROM employees GROUP BY dept;')).ok).toBe(true);
    expect((await sql.validate('WITH x AS (SELECT 1 AS a) SELECT a FROM x;')).ok).toBe(true);
    const typo = await sql.validate('SELECT name\nFORM employees;');
    expect(typo.ok).toBe(false);
    expect(typo.errors).toEqual([{ message: 'near "employees": syntax error', kind: 'syntax', line: 2, col: 6 }]);
    const cut = await sql.validate('SELECT * FROM');
    expect(cut.errors).toEqual([{ message: 'incomplete input', kind: 'incomplete', line: 1, col: 1 }]);
    const quote = await sql.validate("SELECT 'abc");
    expect(quote.errors[0]).toMatchObject({ message: `unrecognized token: "'abc"`, kind: 'unrecognized-token' });
    expect((await sql.validate('SELECT nosuchfn(1);')).errors[0]).toMatchObject({
      message: 'no such function: nosuchfn',
      kind: 'no-such-function',
    });
    expect(sql.label).toMatch(/^SQLite 3\.\d+/);
  });

  it('without a schema, unknown tables and columns are warnings', async () => {
    const r = await sql.validate('SELECT name FROM employees;');
    expect(r.ok).toBe(true);
    expect(r.warnings).toEqual([{ message: 'no such table: employees', kind: 'no-such-table', line: 1, col: 18 }]);
  });

  it('with a schema, unknown names are errors', async () => {
    const v = new SqlValidator({ schema: 'CREATE TABLE employees(id, name, dept);' });
    expect((await v.validate('SELECT name FROM employees WHERE dept = 1;')).ok).toBe(true);
    const r = await v.validate('SELECT nme FROM employees;');
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual([{ message: 'no such column: nme', kind: 'no-such-column', line: 1, col: 8 }]);
    expect((await v.validate('SELECT * FROM staff;')).errors[0]!.kind).toBe('no-such-table');
  });

  it('checks every statement of a script; DDL in the answer is seen by later statements', async () => {
    const r = await sql.validate(
      'CREATE TABLE t(a INTEGER);\nINSERT INTO t VALUES (1);\nSELECT a FROM t WHERE;\nSELEC 2;',
    );
    expect(r.ok).toBe(false);
    expect(r.errors.map((e) => [e.message, e.line])).toEqual([
      ['near ";": syntax error', 3],
      ['near "SELEC": syntax error', 4],
    ]);
    expect(r.detail?.statements).toBe(4);
  });

  it('rejects an invalid schema and empty input', async () => {
    await expect(new SqlValidator({ schema: 'CREATE TABLE (' }).validate('SELECT 1')).rejects.toThrow(
      /invalid SQL schema/,
    );
    expect((await sql.validate('')).errors[0]!.kind).toBe('empty');
    expect((await sql.validate('-- nothing here')).errors[0]!.kind).toBe('empty');
  });

  it('accepts every answer of the chatml SQL fixture against the schema in its prompt', async () => {
    const chats = sqlChat();
    expect(chats.length).toBeGreaterThan(5);
    for (const { messages } of chats) {
      const prompt = messages.find((m) => m.role === 'user')!.content;
      const answer = messages.find((m) => m.role === 'assistant')!.content;
      const schema = schemaFromPrompt(prompt);
      expect(schema, prompt).toMatch(/^CREATE TABLE/);
      const r = await new SqlValidator({ schema }).validate(answer);
      expect(r.errors, answer).toEqual([]);
    }
  });
});

describe('SQL text helpers', () => {
  it('splits statements, keeping semicolons in strings, comments and trigger bodies', () => {
    const script = [
      "SELECT 'a;b' AS x; -- c;d",
      '/* e; */ SELECT "f;g" FROM [h;i];',
      'CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a = CASE WHEN 1 THEN 2 END; DELETE FROM u; END;',
      'SELECT 3',
    ].join('\n');
    const parts = splitSqlStatements(script);
    expect(parts.map((p) => p.text)).toEqual([
      "SELECT 'a;b' AS x;",
      'SELECT "f;g" FROM [h;i];',
      'CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a = CASE WHEN 1 THEN 2 END; DELETE FROM u; END;',
      'SELECT 3',
    ]);
    expect(parts.map((p) => [p.line, p.col])).toEqual([
      [1, 1],
      [2, 10],
      [3, 1],
      [4, 1],
    ]);
  });

  it('reads table hints from prompts', () => {
    expect(schemaFromPrompt('Tables customers(id, name) and orders(id, customer_id, total). Show spend.')).toBe(
      'CREATE TABLE "customers" ("id", "name");\nCREATE TABLE "orders" ("id", "customer_id", "total");',
    );
    expect(schemaFromPrompt('Count rows (all of them).')).toBe('');
  });
});
