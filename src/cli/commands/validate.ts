/**
 * `npm run cli -- validate`: check files with a real validator, write synthetic repair records,
 * or time bulk validation.
 *
 *   validate --kind asp|dot|json|sql [--extract] [--schema FILE] FILE...
 *       one JSON line per file: {file, kind, ok, errors[, warnings][, detail]}; exit 1 if any is invalid.
 *       Without --kind the validator is suggested from each file's name and content.
 *   validate --kind K --repair-pairs OUT.jsonl [--seed N] [--per-corruption N] [--no-task] DATASET...
 *       DATASET: an ASP problem folder tree (ASP.txt + NL.txt/IR.txt: chat records with the ASP-expert system
 *       prompt, as the importer reads them), a pairs.json, *.jsonl (pairs or chat records), or a folder of those.
 *       Summary on stderr. To keep repair pairs inside their problem's split, use `data --repair-pairs KIND
 *       --out-dir DIR` (or `train --repair-pairs KIND`), which makes them split by split.
 *   validate --bench [N] [DATASET...]
 *       validates N DOT and N ASP answers (default 1000, from test/fixtures/validate) and prints the time.
 */
import { readFileSync, readdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ASP_EXPERT_SYSTEM_PROMPT } from '../../schema/dataset.ts';
import { benchTexts, timeValidation } from '../../validate/bench.ts';
import { extractCode } from '../../validate/extract.ts';
import { ASP_TASK_FILES, isAspAnswerFile, recordsFromJsonText } from '../../validate/records.ts';
import { createValidator } from '../../validate/registry.ts';
import { repairTransform, sourceOf, type DatasetRecord } from '../../validate/repair.ts';
import { suggestValidator } from '../../validate/suggest.ts';
import { isValidatorKind, VALIDATOR_KINDS, type ValidatorKind, type ValidatorOptions } from '../../validate/types.ts';
import type { CliCommand } from './types.ts';

const USAGE = `usage:
  npm run cli -- validate [--kind asp|dot|json|sql] [--extract] [--schema FILE] FILE...
  npm run cli -- validate --kind asp|dot|json|sql --repair-pairs OUT.jsonl [--seed N] [--per-corruption N] [--no-task] DATASET...
  npm run cli -- validate --bench [N] [DATASET...]
`;

interface Args {
  kind?: ValidatorKind;
  extract: boolean;
  schema?: string;
  repairOut?: string;
  seed: number;
  perCorruption: number;
  includeTask: boolean;
  bench?: number;
  paths: string[];
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Args {
  const args: Args = { extract: false, seed: 1, perCorruption: 1, includeTask: true, paths: [] };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  const int = (s: string, flag: string): number => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} needs a whole number, got "${s}"`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case '--kind': {
        const k = value(i++, a);
        if (!isValidatorKind(k)) throw new UsageError(`--kind must be one of ${VALIDATOR_KINDS.join(', ')}`);
        args.kind = k;
        break;
      }
      case '--extract':
        args.extract = true;
        break;
      case '--schema':
        args.schema = value(i++, a);
        break;
      case '--repair-pairs':
        args.repairOut = value(i++, a);
        break;
      case '--seed':
        args.seed = int(value(i++, a), a);
        break;
      case '--per-corruption':
        args.perCorruption = Math.max(1, int(value(i++, a), a));
        break;
      case '--no-task':
        args.includeTask = false;
        break;
      case '--bench': {
        const next = argv[i + 1];
        args.bench = next !== undefined && /^\d+$/.test(next) ? int(argv[++i]!, a) : 1000;
        break;
      }
      default:
        if (a.startsWith('--')) throw new UsageError(`unknown flag ${a}`);
        args.paths.push(a);
    }
  }
  return args;
}

function optionsFor(kind: ValidatorKind, schemaFile: string | undefined): ValidatorOptions {
  if (!schemaFile) return {};
  const text = readFileSync(schemaFile, 'utf8');
  if (kind === 'json') return { json: { schema: JSON.parse(text) as object } };
  if (kind === 'sql') return { sql: { schema: text } };
  throw new UsageError(`--schema applies to json (a JSON Schema) and sql (DDL), not ${kind}`);
}

function walk(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => walk(join(path, name)));
}

/** Records from dataset files and folders; rows that cannot be used are reported on stderr unless quiet. */
function readDatasets(kind: ValidatorKind, paths: string[], quiet = false): DatasetRecord[] {
  const records: DatasetRecord[] = [];
  for (const file of paths.flatMap(walk)) {
    const name = basename(file);
    if (isAspAnswerFile(name)) {
      if (kind !== 'asp') continue;
      const taskFile = ASP_TASK_FILES.map((t) => join(dirname(file), t)).find((t) => existsSync(t));
      // As the importer reads a problem folder: the ASP-expert system prompt, the description, the program.
      records.push({
        messages: [
          { role: 'system', content: ASP_EXPERT_SYSTEM_PROMPT },
          { role: 'user', content: taskFile ? readFileSync(taskFile, 'utf8').trim() : '' },
          { role: 'assistant', content: readFileSync(file, 'utf8') },
        ],
      });
    } else if (/\.jsonl?$/i.test(name)) {
      const parsed = recordsFromJsonText(file, readFileSync(file, 'utf8'), kind);
      records.push(...parsed.records);
      if (!quiet) for (const p of parsed.problems) process.stderr.write(`skipped ${p}\n`);
    } else if ((kind === 'dot' && /\.(dot|gv)$/i.test(name)) || (kind === 'sql' && /\.sql$/i.test(name))) {
      records.push({ prompt: '', answer: readFileSync(file, 'utf8') });
    }
  }
  return records;
}

async function validateFiles(args: Args): Promise<number> {
  if (args.paths.length === 0) throw new UsageError('no FILE given');
  const validators = new Map<ValidatorKind, ReturnType<typeof createValidator>>();
  let allOk = true;
  for (const file of args.paths) {
    const text = readFileSync(file, 'utf8');
    const kind = args.kind ?? suggestValidator({ files: [file], samples: [text] })?.kind;
    if (!kind) {
      process.stdout.write(
        `${JSON.stringify({ file, ok: false, errors: [{ message: 'no validator suggested for this file; pass --kind' }] })}\n`,
      );
      allOk = false;
      continue;
    }
    let v = validators.get(kind);
    if (!v) {
      v = createValidator(kind, optionsFor(kind, args.schema));
      validators.set(kind, v);
    }
    const code = args.extract ? extractCode(text, kind).code : text;
    const r = await v.validate(code);
    allOk &&= r.ok;
    process.stdout.write(`${JSON.stringify({ file, kind, ...r })}\n`);
  }
  return allOk ? 0 : 1;
}

async function writeRepairPairs(args: Args, out: string): Promise<number> {
  if (args.paths.length === 0) throw new UsageError('--repair-pairs needs a DATASET (file or folder)');
  const files = args.paths.flatMap(walk);
  const kind = args.kind ?? suggestValidator({ files })?.kind;
  if (!kind) throw new UsageError('cannot tell the validator from the dataset names; pass --kind');
  const records = readDatasets(kind, args.paths);
  if (records.length === 0) throw new UsageError(`no ${kind} records found in ${args.paths.join(', ')}`);
  const validator = createValidator(kind, optionsFor(kind, args.schema));
  const { records: repairs, stats } = await repairTransform(kind, records, validator, {
    seed: args.seed,
    perCorruption: args.perCorruption,
    includeTask: args.includeTask,
  });
  writeFileSync(out, repairs.map((r) => JSON.stringify(r)).join('\n') + (repairs.length ? '\n' : ''));
  process.stderr.write(
    `${JSON.stringify({ kind, validator: validator.label, out, written: repairs.length, ...stats })}\n`,
  );
  return 0;
}

async function bench(args: Args, n: number): Promise<number> {
  const paths = args.paths.length
    ? args.paths
    : ['test/fixtures/validate/asp_benchmark', 'test/fixtures/validate/dot_pairs'];
  for (const kind of ['dot', 'asp'] as const) {
    const answers = readDatasets(kind, paths, true)
      .map((r) => sourceOf(r)?.answer)
      .filter((a): a is string => a !== undefined);
    const result = await timeValidation(createValidator(kind), benchTexts(kind, answers, n));
    process.stdout.write(
      `${JSON.stringify({ ...result, distinctSources: answers.length, msPerAnswer: result.ms / Math.max(1, result.n) })}\n`,
    );
  }
  return 0;
}

export const command: CliCommand = {
  summary: 'check ASP/DOT/JSON/SQL with real validators; --repair-pairs, --bench',
  async run(argv) {
    if (argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write(USAGE);
      return 0;
    }
    try {
      const args = parseArgs(argv);
      const missing = [...args.paths, ...(args.schema ? [args.schema] : [])].filter((p) => !existsSync(p));
      if (missing.length > 0) throw new UsageError(`no such file or folder: ${missing.join(', ')}`);
      if (args.kind && args.schema && args.kind !== 'json' && args.kind !== 'sql') {
        throw new UsageError(`--schema applies to json (a JSON Schema) and sql (DDL), not ${args.kind}`);
      }
      if (args.bench !== undefined) return await bench(args, args.bench);
      if (args.repairOut !== undefined) return await writeRepairPairs(args, args.repairOut);
      return await validateFiles(args);
    } catch (e) {
      if (e instanceof UsageError) {
        process.stderr.write(`validate: ${e.message}\n${USAGE}`);
        return 2;
      }
      throw e;
    }
  },
};
