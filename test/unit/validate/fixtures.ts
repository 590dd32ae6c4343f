/**
 * The validator fixtures: copies of ../shared/datasets/asp_benchmark, dot_pairs and a chatml SQL
 * split, kept in test/fixtures/validate so the tests need only the repository.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'validate');

export interface AspProblem {
  name: string;
  task: string;
  program: string;
}

export function aspProblems(): AspProblem[] {
  const dir = join(FIXTURES, 'asp_benchmark');
  return readdirSync(dir)
    .sort()
    .filter((name) => existsSync(join(dir, name, 'ASP.txt')))
    .map((name) => {
      const taskFile = ['NL.txt', 'IR.txt'].map((f) => join(dir, name, f)).find(existsSync);
      return {
        name,
        task: taskFile ? readFileSync(taskFile, 'utf8') : '',
        program: readFileSync(join(dir, name, 'ASP.txt'), 'utf8'),
      };
    });
}

export interface DotGraph {
  /** `file#index`. */
  where: string;
  input: string;
  dot: string;
}

export function dotGraphs(): DotGraph[] {
  const dir = join(FIXTURES, 'dot_pairs');
  const out: DotGraph[] = [];
  const pairs = JSON.parse(readFileSync(join(dir, 'training', 'statemachine_cat', 'pairs.json'), 'utf8')) as Array<{
    input_code: string;
    output_dot: string;
  }>;
  pairs.forEach((p, i) => out.push({ where: `pairs.json#${i}`, input: p.input_code, dot: p.output_dot }));
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()) {
    readFileSync(join(dir, file), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .forEach((line, i) => {
        const row = JSON.parse(line) as { input_text: string; output_dot: string };
        out.push({ where: `${file}#${i}`, input: row.input_text, dot: row.output_dot });
      });
  }
  return out;
}

export interface ChatRecord {
  messages: Array<{ role: string; content: string }>;
}

export function sqlChat(): ChatRecord[] {
  return readFileSync(join(FIXTURES, 'sql', 'chatml_train.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as ChatRecord);
}
