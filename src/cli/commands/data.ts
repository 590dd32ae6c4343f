/**
 * `npm run cli -- data [import] PATH... [flags]`: imports files or folders with the app's importer
 * and prints a JSON summary (detected format, counts, split sizes, token statistics with --model,
 * every problem with file, line and reason); optionally writes the records as chat JSONL.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { importDataset } from '../../data/import.ts';
import { filesFromPaths, tokenizerFromDir } from '../../data/node-files.ts';
import { toJsonlRow } from '../../data/records.ts';
import type { DatasetRecord, ImportSettingsInput } from '../../schema/dataset.ts';
import { addPromptVariants, addRepairPairs, parseVariantTemplates } from '../../train/augment.ts';
import { createValidator } from '../../validate/registry.ts';
import { VALIDATOR_KINDS } from '../../validate/types.ts';
import { choiceFlag, numberFlag, parseArgs, stringFlag } from '../args.ts';
import { IMPORT_FLAGS, IMPORT_USAGE, importSettingsFromFlags } from '../import-flags.ts';
import type { CliCommand } from './types.ts';

const USAGE = `usage: npm run cli -- data [import] PATH... [flags]
${IMPORT_USAGE}
  --seed N            split seed (default 0)
  --max-length N      maximum tokens per example / raw-text window (default 2048)
  --model DIR         model folder with tokenizer.json (token counts, exact windows)
  --variants FILE     add a rewrite of every prompt per template ({prompt} = the original), in its source's split
  --repair-pairs KIND add repair pairs (${VALIDATOR_KINDS.join(' | ')}) made split by split from the answers
  --out FILE.jsonl    write all records as JSONL ({"messages"} or {"text"} rows)
  --out-dir DIR       write train.jsonl / valid.jsonl / test.jsonl
  --json              print the JSON summary (the default)`;

const FLAGS = {
  values: [...IMPORT_FLAGS, 'seed', 'max-length', 'model', 'out', 'out-dir', 'variants', 'repair-pairs'],
  booleans: ['json', 'help'],
};

function jsonl(records: DatasetRecord[]): string {
  return records.length ? `${records.map(toJsonlRow).join('\n')}\n` : '';
}

export const command: CliCommand = {
  summary: 'import a dataset (files or folders) and print what was found, with every problem',
  async run(argv) {
    if (argv.includes('-h')) argv = argv.map((a) => (a === '-h' ? '--help' : a));
    const args = parseArgs(argv, FLAGS, 'data');
    const positionals = args.positional;
    const paths = positionals[0] === 'import' ? positionals.slice(1) : positionals;
    const help = args.flags.has('help');
    if (help || paths.length === 0) {
      process.stderr.write(`${USAGE}\n`);
      return help ? 0 : 2;
    }
    const settings: ImportSettingsInput = {
      ...importSettingsFromFlags(args),
      ...(args.flags.has('seed') ? { seed: numberFlag(args, 'seed')! } : {}),
      ...(args.flags.has('max-length') ? { maxLength: numberFlag(args, 'max-length')! } : {}),
    };
    const values = {
      model: stringFlag(args, 'model'),
      out: stringFlag(args, 'out'),
      'out-dir': stringFlag(args, 'out-dir'),
    };
    const tokenizer = values.model ? await tokenizerFromDir(values.model) : null;
    const started = performance.now();
    const result = await importDataset(await filesFromPaths(paths), settings, { tokenizer });
    const added: Record<string, unknown> = {};
    const variantsFile = stringFlag(args, 'variants');
    if (variantsFile) {
      const v = addPromptVariants(result.records, parseVariantTemplates(await readFile(variantsFile, 'utf8')));
      result.records = v.records;
      added.variants = v.added;
    }
    if (args.flags.has('repair-pairs')) {
      const kind = choiceFlag(args, 'repair-pairs', VALIDATOR_KINDS, 'asp');
      const r = await addRepairPairs(result.records, kind, createValidator(kind), { seed: result.settings.seed + 1 });
      result.records = r.records;
      added.repairPairs = r.added;
    }
    const seconds = (performance.now() - started) / 1000;
    if (values.out) await writeFile(values.out, jsonl(result.records));
    if (values['out-dir']) {
      await mkdir(values['out-dir'], { recursive: true });
      for (const split of ['train', 'valid', 'test'] as const) {
        const rows = result.records.filter((r) => r.split === split);
        if (split !== 'test' || rows.length > 0)
          await writeFile(join(values['out-dir'], `${split}.jsonl`), jsonl(rows));
      }
    }
    const summary = {
      format: result.format,
      kind: result.kind,
      presplit: result.presplit,
      complete: result.complete,
      refusal: result.refusal,
      counts: result.counts,
      split: { train: result.counts.train, valid: result.counts.valid, test: result.counts.test },
      ...(Object.keys(added).length > 0
        ? {
            added,
            splitWithAdded: {
              train: result.records.filter((r) => r.split === 'train').length,
              valid: result.records.filter((r) => r.split === 'valid').length,
              test: result.records.filter((r) => r.split === 'test').length,
            },
          }
        : {}),
      sources: result.sources,
      tokens: result.tokens,
      windowing: result.windowing,
      problems: result.problems,
      skipped: result.skipped,
      duplicates: result.duplicates,
      dropped: result.dropped,
      warnings: result.warnings,
      settings: result.settings,
      seconds: Math.round(seconds * 1000) / 1000,
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    if (result.refusal) process.stderr.write(`nothing to train on: ${result.refusal}\n`);
    return result.records.length > 0 ? 0 : 1;
  },
};
