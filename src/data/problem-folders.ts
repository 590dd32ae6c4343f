/**
 * Problem folders: one folder per problem holding `NL.txt` (natural language) or `IR.txt`
 * (structured description) and `ASP.txt` (the answer). Each description becomes one chat record
 * user → assistant; the ASP-expert system prompt is added later by the importer. Rewrites of a
 * description (NL.casual.txt, NL_academic.txt, …) are descriptions too: the same answer, the same problem,
 * so the split by source keeps them in their problem's split. Names are matched without case; a part with bytes that are not text (a binary ASP.txt) is reported, never trained on.
 */
import type { Problem } from '../schema/dataset.ts';
import { readText } from './decode.ts';
import type { ImportFile } from './inputs.ts';
import { basename, dirname } from './inputs.ts';
import { chatRecord, problem, type ParsedRecord } from './records.ts';
import { badLineProblem, decodeFailure, type SourceResult } from './source.ts';

const ANSWER = 'asp.txt';
/** NL.txt, IR.txt, and rewrites of them beside them: NL.casual.txt, NL_academic.txt, IR-succinct.txt (any case). */
const DESCRIPTION = /^(nl|ir)([._-][^/]+)?\.txt$/i;

function isDescription(name: string): boolean {
  return DESCRIPTION.test(name);
}

export function isProblemFile(path: string): boolean {
  const name = basename(path);
  return name.toLowerCase() === ANSWER || isDescription(name);
}

type Part = { text: string } | { problems: Problem[] };

async function readPart(file: ImportFile): Promise<Part> {
  try {
    const decoded = await readText(file);
    // A description or program with a line that is not text cannot be trained on in part.
    if (decoded.bad.length > 0)
      return { problems: decoded.bad.map((b) => badLineProblem(file.path, b.line, b.bad, decoded.encoding)) };
    return { text: decoded.text.trim() };
  } catch (err) {
    return { problems: decodeFailure(file.path, 'text', err).problems };
  }
}

const byName = (a: ImportFile, b: ImportFile) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/**
 * The folder's answer: ASP.txt, or the one answer file there is. Answer files whose names differ
 * only by case (ASP.txt and asp.txt) are compared: the same text is one answer (the others are
 * listed), different texts leave the folder out with a problem that names them.
 */
async function readAnswer(
  dir: string,
  files: ImportFile[],
): Promise<{ text: string; problems: Problem[] } | Problem[]> {
  const sorted = [...files].sort(
    (a, b) => Number(basename(b.path) === 'ASP.txt') - Number(basename(a.path) === 'ASP.txt') || byName(a, b),
  );
  const parts = await Promise.all(sorted.map(readPart));
  const failed = parts.flatMap((p) => ('problems' in p ? p.problems : []));
  if (failed.length > 0) return failed;
  const texts = parts.map((p) => ('text' in p ? p.text : ''));
  const names = sorted.map((f) => basename(f.path));
  if (texts[0] === '') return [problem(sorted[0]!.path, null, 'missing_answer', `${names[0]} is empty`)];
  if (texts.some((t) => t !== texts[0]))
    return [
      problem(
        dir,
        null,
        'duplicate_file',
        `the folder has ${names.length} answer files (${names.join(', ')}) with different programs: keep one, then import again`,
      ),
    ];
  const problems = sorted
    .slice(1)
    .map((f) =>
      problem(
        f.path,
        null,
        'duplicate_file',
        `a second answer file beside ${names[0]}, with the same program: read once`,
      ),
    );
  return { text: texts[0]!, problems };
}

/** Reads the problem folders among `files` (all NL/IR/ASP files), grouped into one source per parent folder. */
export async function readProblemFolders(files: ImportFile[]): Promise<SourceResult[]> {
  const byProblem = new Map<string, ImportFile[]>();
  for (const f of files) {
    const dir = dirname(f.path);
    const list = byProblem.get(dir) ?? [];
    list.push(f);
    byProblem.set(dir, list);
  }
  const bySet = new Map<string, { records: ParsedRecord[]; problems: Problem[] }>();
  for (const dir of [...byProblem.keys()].sort()) {
    const setPath = dirname(dir) || dir;
    const set = bySet.get(setPath) ?? { records: [], problems: [] };
    bySet.set(setPath, set);
    const parts = byProblem.get(dir)!;
    const answers = parts.filter((p) => basename(p.path).toLowerCase() === ANSWER);
    // Every description file is one record, also two whose names differ only by case (NL.txt, nl.txt).
    const descFiles = parts.filter((p) => isDescription(basename(p.path))).sort(byName);
    const descNames = descFiles.map((f) => basename(f.path)).join(' and ');
    if (answers.length === 0) {
      set.problems.push(
        problem(dir, null, 'missing_asp', `problem folder has ${descNames} but no ASP.txt (the answer)`),
      );
      continue;
    }
    if (descFiles.length === 0) {
      set.problems.push(
        problem(dir, null, 'missing_description', 'problem folder has ASP.txt but neither NL.txt nor IR.txt'),
      );
      continue;
    }
    const answer = await readAnswer(dir, answers);
    if (Array.isArray(answer)) {
      set.problems.push(...answer);
      continue;
    }
    set.problems.push(...answer.problems);
    for (const desc of descFiles) {
      const d = await readPart(desc);
      if ('problems' in d) {
        set.problems.push(...d.problems);
        continue;
      }
      if (d.text === '') {
        set.problems.push(problem(desc.path, null, 'empty_file', `${basename(desc.path)} is empty`));
        continue;
      }
      // Every description of one folder (NL, IR and their variants) is one group: one problem, one split.
      set.records.push({
        ...chatRecord(
          [
            { role: 'user', content: d.text },
            { role: 'assistant', content: answer.text },
          ],
          desc.path,
          1,
        ),
        group: dir,
      });
    }
  }
  return [...bySet.entries()].map(([path, { records, problems }]) => ({
    records,
    problems,
    summary: {
      path,
      format: 'problem_folders',
      container: 'folder',
      encoding: null,
      rows: records.length,
      problems: problems.length,
      mapping: null,
      presplit: null,
    },
  }));
}
