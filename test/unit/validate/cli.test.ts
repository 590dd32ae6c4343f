import { ASP_EXPERT_SYSTEM_PROMPT } from '../../../src/schema/dataset.ts';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { commands } from '../../../src/cli/commands/index.ts';
import { command } from '../../../src/cli/commands/validate.ts';
import { FIXTURES } from './fixtures.ts';

let out = '';
let err = '';

beforeEach(() => {
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

const lines = () =>
  out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('npm run cli -- validate', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'validate-cli-'));

  it('is registered in the command table', () => {
    expect(commands.validate).toBe(command);
  });

  it('prints one JSON line per file and exits 1 when one is invalid', async () => {
    const good = join(FIXTURES, 'asp_benchmark', 'n_queens', 'ASP.txt');
    const bad = join(tmp, 'bad.lp');
    writeFileSync(bad, 'q(1).\np(X) :- q(Y).\n');
    const code = await command.run(['--kind', 'asp', good, bad]);
    expect(code).toBe(1);
    const [a, b] = lines();
    expect(a).toMatchObject({ file: good, kind: 'asp', ok: true, errors: [] });
    expect(b).toMatchObject({ file: bad, kind: 'asp', ok: false });
    expect((b!.errors as Array<{ message: string; kind: string }>)[0]).toMatchObject({
      kind: 'unsafe-variable',
      line: 2,
    });
  });

  it('exits 0 when all are valid, suggesting the validator from the file when --kind is absent', async () => {
    const gv = join(tmp, 'g.gv');
    writeFileSync(gv, 'graph { a -- b }');
    const answer = join(tmp, 'answer.txt');
    writeFileSync(answer, 'The graph:\n```dot\ndigraph { x -> y }\n```');
    expect(await command.run([gv])).toBe(0);
    expect(await command.run(['--kind', 'dot', '--extract', answer])).toBe(0);
    expect(lines().map((l) => [l.kind, l.ok])).toEqual([
      ['dot', true],
      ['dot', true],
    ]);
  });

  it('checks JSON against a schema file', async () => {
    const schema = join(tmp, 'schema.json');
    writeFileSync(schema, JSON.stringify({ type: 'object', required: ['id'] }));
    const doc = join(tmp, 'doc.json');
    writeFileSync(doc, '{"name": "x"}');
    expect(await command.run(['--kind', 'json', '--schema', schema, doc])).toBe(1);
    expect(lines()[0]!.errors).toEqual([
      { message: '#: Instance does not have required property "id".', kind: 'schema-required' },
    ]);
  });

  it('writes ASP repair pairs for a problem folder tree', async () => {
    const file = join(tmp, 'asp-repairs.jsonl');
    expect(
      await command.run(['--kind', 'asp', '--repair-pairs', file, '--seed', '3', join(FIXTURES, 'asp_benchmark')]),
    ).toBe(0);
    const records = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            messages: { role: string; content: string }[];
            meta: { error: string; corruption: string };
          },
      );
    expect(records.length).toBeGreaterThanOrEqual(40);
    expect(new Set(records.map((r) => r.meta.corruption))).toEqual(
      new Set(['drop-period', 'double-braces', 'unsafe-variable', 'non-ascii']),
    );
    // Problem folders are read as the importer reads them: the repair pairs keep the ASP-expert system prompt.
    for (const r of records) {
      expect(r.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant']);
      expect(r.messages[0]!.content).toBe(ASP_EXPERT_SYSTEM_PROMPT);
      expect(r.messages[1]!.content).toContain(r.meta.error);
    }
    expect(records[0]!.messages[1]!.content.startsWith('Task:\n')).toBe(true);
    const summary = JSON.parse(err.trim().split('\n').pop()!) as { written: number; sources: number };
    expect(summary).toMatchObject({ written: records.length, sources: 12 });
  });

  it('writes DOT repair pairs from pairs.json and *.jsonl', async () => {
    const file = join(tmp, 'dot-repairs.jsonl');
    expect(await command.run(['--kind', 'dot', '--repair-pairs', file, join(FIXTURES, 'dot_pairs')])).toBe(0);
    const records = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { answer: string });
    expect(records.length).toBeGreaterThan(28);
    expect(records.every((r) => /^(di)?graph /.test(r.answer))).toBe(true);
    expect(JSON.parse(err.trim())).toMatchObject({ sources: 28, invalidSources: 0 });
  });

  it('times bulk validation with --bench', async () => {
    expect(await command.run(['--bench', '30'])).toBe(0);
    const [dot, asp] = lines();
    expect(dot).toMatchObject({ kind: 'dot', n: 30, valid: 30, distinctSources: 28 });
    expect(asp).toMatchObject({ kind: 'asp', n: 30, valid: 30, distinctSources: 12 });
    expect(typeof dot!.ms).toBe('number');
  });

  it('rejects bad usage with exit code 2', async () => {
    expect(await command.run(['--kind', 'cobol', 'x'])).toBe(2);
    expect(await command.run(['--kind', 'asp'])).toBe(2);
    const lp = join(FIXTURES, 'asp_benchmark', 'knapsack', 'ASP.txt');
    expect(await command.run(['--kind', 'asp', '--schema', lp, lp])).toBe(2);
    expect(await command.run(['--kind', 'asp', join(tmp, 'missing.lp')])).toBe(2);
    expect(err).toContain('no such file or folder');
    expect(err).toContain('usage:');
  });
});
