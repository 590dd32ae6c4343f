/**
 * Dataset targets, one per import format: JSONL, JSON array, CSV, TSV, Parquet, Markdown and problem folders
 * (NL.txt / ASP.txt …), seeded from test/fixtures/datasets and mutated byte-wise (NULs, Latin-1 and broken UTF-8,
 * CR-only line endings, cut quotes and brackets, repeats); read by `cli data PATH --json`. An accepted case is one
 * the importer took (exit 0) whose accounting adds up (./dataset-checks.ts: JSON Lines rows + problems = non-blank
 * lines, problem lines inside the file); a failure must name the file. Folders with links, FIFOs, binaries and odd
 * names are in ./dataset-folders.ts.
 */
import { cp, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Rng } from '../../harness/rng.ts';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { mutateBytes, mutateText, pick } from '../mutate.ts';
import type { FuzzCase, FuzzTarget } from '../target.ts';
import { checkFileRun, folderCase } from './dataset-checks.ts';

const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'datasets');

/** Byte-level fragments that importers trip over. */
const DATA_FRAGMENTS = [
  '\u0000',
  '\r',
  '\r\r\r',
  '"',
  '{"messages": [',
  '[',
  '\ufeff',
  '\u00e9\u00ff',
  '\ud800',
  '\n\n\n',
  ',,,,',
  '"""',
  '\\',
  '{"text": "' + 'x'.repeat(100000) + '"}\n',
];

export function mutateData(rng: Rng, bytes: Uint8Array): { bytes: Uint8Array; note: string } {
  if (rng.next() < 0.5) return mutateBytes(rng, bytes);
  const m = mutateText(rng, new TextDecoder().decode(bytes), DATA_FRAGMENTS);
  if (rng.next() < 0.2) {
    // Latin-1 bytes (0xE9) where UTF-8 is expected.
    const out = new TextEncoder().encode(m.text);
    out[rng.int(0, out.byteLength)] = 0xe9;
    return { bytes: out, note: `${m.note}, then a Latin-1 byte` };
  }
  return { bytes: new TextEncoder().encode(m.text), note: m.note };
}

/** A case reading `name` under `dir`, whose accepted output is checked against the file's own lines. */
function fileCase(dir: string, name: string, bytes: Uint8Array, note: string): FuzzCase {
  const kind = name.endsWith('.jsonl') ? 'jsonl' : 'other';
  return {
    argv: ['data', join(dir, name), '--json'],
    files: [name],
    note,
    checkOutput: async (_dir, stdout) => checkFileRun(stdout, { path: name, bytes }, kind),
  };
}

/** A target mutating one seed file (from the fixtures) and importing it. */
function fileTarget(
  name: string,
  description: string,
  seeds: () => Promise<{ name: string; bytes: Uint8Array }[]>,
  mutate: (rng: Rng, bytes: Uint8Array) => { bytes: Uint8Array; note: string } = mutateData,
): FuzzTarget<{ name: string; bytes: Uint8Array }[]> {
  return {
    name,
    description,
    prepare: seeds,
    async seedCase(list, dir) {
      await writeFile(join(dir, list[0]!.name), list[0]!.bytes);
      return fileCase(dir, list[0]!.name, list[0]!.bytes, 'seed');
    },
    async makeCase(list, rng, dir): Promise<FuzzCase> {
      const seed = pick(rng, list);
      const m = mutate(rng, seed.bytes);
      await writeFile(join(dir, seed.name), m.bytes);
      return fileCase(dir, seed.name, m.bytes, `${seed.name}: ${m.note}`);
    },
  };
}

const read = async (rel: string, as?: string) => ({
  name: as ?? rel.split('/').at(-1)!,
  bytes: new Uint8Array(await readFile(join(FIXTURES, rel))),
});

export const jsonlTarget = fileTarget('jsonl', 'JSONL rows (chat messages, persona pairs); cli data', async () => [
  await read('chatml_presplit/train.jsonl'),
  await read('personas/eli5.jsonl'),
  await read('dot_pairs/synthetic.jsonl'),
]);

export const jsonArrayTarget = fileTarget('json-array', 'a JSON array of records; cli data', async () => [
  await read('dot_pairs/training/statemachine_cat/pairs.json'),
]);

const CSV_SEED =
  'prompt,completion\n"What is 2+2?","4"\n"Say ""hi""","hi"\nName a colour,"Blue, or red"\n"Multi\nline","yes"\n';

export const csvTarget = fileTarget('csv', 'a CSV with a header row and quoted fields; cli data', async () => [
  { name: 'pairs.csv', bytes: new TextEncoder().encode(CSV_SEED) },
]);

export const tsvTarget = fileTarget('tsv', 'a TSV (tab-separated, quoted fields, CRLF); cli data', async () => [
  {
    name: 'pairs.tsv',
    bytes: new TextEncoder().encode(
      'instruction\tinput\toutput\r\nTranslate\tcat\tchat\r\n"Quote ""this"""\t\tdone\r\n"Two\r\nlines"\tx\ty\r\n',
    ),
  },
]);

/** Parquet mutations: most land in the footer (metadata, its length, the magic), the rest anywhere. */
function mutateParquet(rng: Rng, bytes: Uint8Array): { bytes: Uint8Array; note: string } {
  const footer = Math.max(0, bytes.byteLength - 512);
  return mutateBytes(rng, bytes, rng.next() < 0.7 ? [footer, bytes.byteLength] : undefined);
}

export const parquetTarget = fileTarget(
  'parquet',
  'a Parquet file (hyparquet-writer: prompt/completion strings, an int column): bytes, footer; cli data',
  async () => {
    const n = 40;
    const columnData = [
      { name: 'prompt', data: Array.from({ length: n }, (_, i) => `question ${i}: ${'why '.repeat(i % 7)}?`) },
      { name: 'completion', data: Array.from({ length: n }, (_, i) => `answer ${i}`) },
      { name: 'id', data: Array.from({ length: n }, (_, i) => i), type: 'INT32' as const },
    ];
    return [{ name: 'rows.parquet', bytes: new Uint8Array(parquetWriteBuffer({ columnData })) }];
  },
  mutateParquet,
);

export const markdownTarget = fileTarget('markdown', 'Markdown chapters (raw text); cli data', async () => [
  await read('chapters/01_introduction.md'),
  await read('chapters/02_methodology.md'),
]);

export const problemFolderTarget: FuzzTarget<string[]> = {
  name: 'problem-folder',
  description: 'a problem folder (NL.txt, ASP.txt, IR.txt per problem): file contents and names; cli data',
  async prepare() {
    return (await readdir(join(FIXTURES, 'asp_benchmark'))).sort();
  },
  async seedCase(problems, dir) {
    const root = join(dir, 'asp_benchmark');
    for (const p of problems.slice(0, 4))
      await cp(join(FIXTURES, 'asp_benchmark', p), join(root, p), { recursive: true });
    return folderCase(root, [], 'seed');
  },
  async makeCase(problems, rng, dir): Promise<FuzzCase> {
    const root = join(dir, 'asp_benchmark');
    for (const p of problems.slice(0, 4))
      await cp(join(FIXTURES, 'asp_benchmark', p), join(root, p), { recursive: true });
    const problem = pick(rng, problems.slice(0, 4));
    const files = await readdir(join(root, problem));
    const file = pick(rng, files);
    const path = join(root, problem, file);
    const m = mutateData(rng, new Uint8Array(await readFile(path)));
    const renamed = rng.next() < 0.2 ? pick(rng, ['nl.txt', 'Asp.txt', 'ASP.TXT', 'asp.txt.bak', 'ASP .txt']) : file;
    await writeFile(join(root, problem, renamed), m.bytes);
    return folderCase(
      root,
      [file, renamed],
      `${problem}/${file}${renamed !== file ? ` (also as ${renamed})` : ''}: ${m.note}`,
    );
  },
};
