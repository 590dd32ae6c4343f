/**
 * Checks of an accepted `cli data --json` run (the dataset targets' `checkOutput`): the import's own accounting must
 * add up, so a row lost without a problem, a problem at a line the file does not have, or a file neither imported nor
 * listed is a failure, not "accepted".
 *
 *   every run       records = train + valid + test; problems = the problems listed; rows read = the sources' rows;
 *                   every problem and skipped path is an input; every problem line is a line of its file
 *   JSON Lines      each non-blank line is either a row or a problem at that line (exactly one of the two)
 *   folders         every file, link and FIFO under the folder is read (a source, or its problem folder), reported
 *                   or listed as skipped
 */
import { lstat, readFile, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { FuzzCase } from '../target.ts';

interface Summary {
  counts: { rowsRead: number; records: number; problems: number; train: number; valid: number; test: number };
  sources: { path: string; format: string | null; encoding: string | null; rows: number }[];
  problems: { file: string; line: number | null; code: string }[];
  skipped: { path: string }[];
}

function parse(stdout: string): Summary | string {
  try {
    return JSON.parse(stdout) as Summary;
  } catch (err) {
    return `the JSON summary does not parse: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** The file's lines as the importer counts them: after the BOM, LF, CRLF and a lone CR each end a line. */
export function textLines(bytes: Uint8Array, encoding: string | null): string[] {
  const label = encoding === 'utf-16le' || encoding === 'utf-16be' ? encoding : 'utf-8';
  const text = new TextDecoder(label).decode(bytes);
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

interface InputFile {
  /** The path inside the import, as the summary names it. */
  path: string;
  bytes: Uint8Array;
}

function sums(s: Summary): string | null {
  const { counts } = s;
  if (counts.records !== counts.train + counts.valid + counts.test)
    return `accounting: ${counts.records} records but the splits hold ${counts.train + counts.valid + counts.test}`;
  if (counts.problems !== s.problems.length)
    return `accounting: ${counts.problems} problems counted, ${s.problems.length} listed`;
  const rows = s.sources.reduce((a, x) => a + x.rows, 0);
  if (counts.rowsRead !== rows) return `accounting: ${counts.rowsRead} rows read, the sources hold ${rows}`;
  return null;
}

function linesInRange(s: Summary, files: InputFile[]): string | null {
  for (const p of s.problems) {
    if (p.line === null) continue;
    const f = files.find((x) => x.path === p.file);
    if (!f) continue;
    const source = s.sources.find((x) => x.path === p.file);
    if (source?.format === null || source?.encoding === null) continue;
    const n = Math.max(1, textLines(f.bytes, source?.encoding ?? null).length);
    if (p.line < 1 || p.line > n) return `a problem at line ${p.line} of ${p.file}, which has ${n} lines`;
  }
  return null;
}

/** Checks a run on one file (`kind` picks the extra JSON Lines check). */
export function checkFileRun(stdout: string, file: InputFile, kind: 'jsonl' | 'other'): string | null {
  const s = parse(stdout);
  if (typeof s === 'string') return s;
  const fail = sums(s) ?? linesInRange(s, [file]);
  if (fail) return fail;
  for (const p of [...s.problems.map((x) => x.file), ...s.skipped.map((x) => x.path)])
    if (p !== file.path) return `a problem or skipped entry names ${p}, which is not an input`;
  if (kind !== 'jsonl') return null;
  const problems = s.problems.filter((p) => p.file === file.path);
  const source = s.sources.find((x) => x.path === file.path);
  if (!source || problems.some((p) => p.line === null) || source.format === null) return null;
  const lines = textLines(file.bytes, source.encoding);
  // A file that starts with "[" may be read as a JSON array: its rows are not one per line.
  if ((lines.find((l) => l.trim() !== '') ?? '').trimStart().startsWith('[')) return null;
  const nonBlank = lines.filter((l) => l.trim() !== '').length;
  const at = new Set(problems.map((p) => p.line));
  if (at.size !== problems.length) return `two problems at one line of ${file.path}`;
  if (source.rows + problems.length !== nonBlank)
    return `accounting: ${file.path} has ${nonBlank} non-blank lines but ${source.rows} rows + ${problems.length} problems`;
  return null;
}

const PROBLEM_FILES = new Set(['nl.txt', 'ir.txt', 'asp.txt']);

/** Files, links and FIFOs under `root` (links not followed), with the path the summary gives them. */
async function entries(root: string, base: string): Promise<{ path: string; kind: 'file' | 'link-dir' | 'other' }[]> {
  const out: { path: string; kind: 'file' | 'link-dir' | 'other' }[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const name of await readdir(dir)) {
      const full = join(dir, name);
      const info = await lstat(full);
      const path = relative(base, full);
      if (info.isDirectory()) await walk(full);
      else if (info.isSymbolicLink()) {
        const target = await stat(full).catch(() => null);
        out.push({ path, kind: target?.isDirectory() ? 'link-dir' : 'other' });
      } else out.push({ path, kind: info.isFile() ? 'file' : 'other' });
    }
  };
  await walk(root);
  return out;
}

/** Checks a run on a folder: the sums, and that every entry under it is accounted for. */
export async function checkFolderRun(stdout: string, root: string, base: string): Promise<string | null> {
  const s = parse(stdout);
  if (typeof s === 'string') return s;
  const list = await entries(root, base);
  const files: InputFile[] = [];
  for (const e of list) if (e.kind === 'file') files.push({ path: e.path, bytes: await readFile(join(base, e.path)) });
  const fail = sums(s) ?? linesInRange(s, files);
  if (fail) return fail;
  const named = [...s.sources.map((x) => x.path), ...s.problems.map((x) => x.file), ...s.skipped.map((x) => x.path)];
  const problemSets = s.sources.filter((x) => x.format === 'problem_folders' && x.rows > 0).map((x) => x.path);
  for (const e of list) {
    if (e.kind === 'link-dir') continue; // its files are checked where they are; an empty one holds nothing
    if (named.some((n) => n === e.path || n.startsWith(`${e.path}/`))) continue;
    const dir = e.path.slice(0, Math.max(0, e.path.lastIndexOf('/')));
    const name = e.path.slice(e.path.lastIndexOf('/') + 1).toLowerCase();
    // A file of a problem folder is read with its folder: reported there, or part of a set that has rows.
    if (
      PROBLEM_FILES.has(name) &&
      (named.some((n) => n === dir || n.startsWith(`${dir}/`)) ||
        problemSets.some((p) => dir.startsWith(`${p}/`) || dir === p))
    )
      continue;
    return `${e.path} is neither imported, reported nor listed as skipped`;
  }
  return null;
}

/** A case importing the folder `root`, whose accepted output must account for every entry under it. */
export function folderCase(root: string, files: string[], note: string): FuzzCase {
  return { argv: ['data', root, '--json'], files, note, checkOutput: (dir, out) => checkFolderRun(out, root, dir) };
}
