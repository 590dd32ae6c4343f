/**
 * Problem folders: one folder per problem holding `NL.txt` (natural language) or `IR.txt`
 * (structured description) and `ASP.txt` (the answer). Each description becomes one chat record
 * user → assistant; the ASP-expert system prompt is added later by the importer.
 */
import type { Problem } from '../schema/dataset.ts';
import { readText } from './decode.ts';
import type { ImportFile } from './inputs.ts';
import { basename, dirname } from './inputs.ts';
import { chatRecord, problem, type ParsedRecord } from './records.ts';
import { decodeFailure, type SourceResult } from './source.ts';

const DESCRIPTIONS = ['nl.txt', 'ir.txt'];
const ANSWER = 'asp.txt';

export function isProblemFile(path: string): boolean {
  const name = basename(path).toLowerCase();
  return name === ANSWER || DESCRIPTIONS.includes(name);
}

async function readPart(file: ImportFile): Promise<{ text: string } | { failure: SourceResult }> {
  try {
    const { text } = await readText(file);
    return { text: text.trim() };
  } catch (err) {
    return { failure: decodeFailure(file.path, 'text', err) };
  }
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
    const find = (name: string) => parts.find((p) => basename(p.path).toLowerCase() === name);
    const answerFile = find(ANSWER);
    const descFiles = DESCRIPTIONS.map(find).filter((f): f is ImportFile => f !== undefined);
    const descNames = descFiles.map((f) => basename(f.path)).join(' and ');
    if (!answerFile) {
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
    const answer = await readPart(answerFile);
    if ('failure' in answer) {
      set.problems.push(...answer.failure.problems);
      continue;
    }
    if (answer.text === '') {
      set.problems.push(problem(answerFile.path, null, 'missing_answer', 'ASP.txt is empty'));
      continue;
    }
    for (const desc of descFiles) {
      const d = await readPart(desc);
      if ('failure' in d) {
        set.problems.push(...d.failure.problems);
        continue;
      }
      if (d.text === '') {
        set.problems.push(problem(desc.path, null, 'empty_file', `${basename(desc.path)} is empty`));
        continue;
      }
      set.records.push(
        chatRecord(
          [
            { role: 'user', content: d.text },
            { role: 'assistant', content: answer.text },
          ],
          desc.path,
          1,
        ),
      );
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
