/**
 * `npm run cli -- data [import] PATH... [flags]`: imports files or folders with the app's importer
 * and prints a JSON summary (detected format, counts, split sizes, token statistics with --model,
 * every problem with file, line and reason); optionally writes the records as chat JSONL.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { importDataset } from '../../data/import.ts';
import { filesFromPaths, tokenizerFromDir } from '../../data/node-files.ts';
import { toJsonlRow } from '../../data/records.ts';
import {
  MaskModeSchema,
  OverLengthSchema,
  SourceFormatSchema,
  type DatasetRecord,
  type ImportSettingsInput,
} from '../../schema/dataset.ts';
import type { CliCommand } from './types.ts';

const USAGE = `usage: npm run cli -- data [import] PATH... [flags]
  --split F           train fraction (default 0.8); valid gets the rest
  --test F            test fraction (default 0)
  --seed N            split seed (default 0)
  --max-length N      maximum tokens per example / raw-text window (default 2048)
  --over-length P     drop | truncate rows over the maximum length (default drop)
  --mask M            answers | last | all (default answers)
  --format F          force a format: ${SourceFormatSchema.options.join(' | ')}
  --system-prompt S   system prompt for records without one ('' for none)
  --model DIR         model folder with tokenizer.json (token counts, exact windows)
  --out FILE.jsonl    write all records as JSONL ({"messages"} or {"text"} rows)
  --out-dir DIR       write train.jsonl / valid.jsonl / test.jsonl
  --json              print the JSON summary (the default)`;

function number(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`${flag} expects a number, got "${value}"`);
  return n;
}

function jsonl(records: DatasetRecord[]): string {
  return records.length ? `${records.map(toJsonlRow).join('\n')}\n` : '';
}

export const command: CliCommand = {
  summary: 'import a dataset (files or folders) and print what was found, with every problem',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        split: { type: 'string' },
        test: { type: 'string' },
        seed: { type: 'string' },
        'max-length': { type: 'string' },
        'over-length': { type: 'string' },
        mask: { type: 'string' },
        format: { type: 'string' },
        'system-prompt': { type: 'string' },
        model: { type: 'string' },
        out: { type: 'string' },
        'out-dir': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    const paths = positionals[0] === 'import' ? positionals.slice(1) : positionals;
    if (values.help || paths.length === 0) {
      process.stderr.write(`${USAGE}\n`);
      return values.help ? 0 : 2;
    }
    const settings: ImportSettingsInput = {
      trainFraction: number(values.split, '--split'),
      testFraction: number(values.test, '--test'),
      seed: number(values.seed, '--seed'),
      maxLength: number(values['max-length'], '--max-length'),
      overLength: values['over-length'] === undefined ? undefined : OverLengthSchema.parse(values['over-length']),
      mask: values.mask === undefined ? undefined : MaskModeSchema.parse(values.mask),
      format: values.format === undefined ? undefined : SourceFormatSchema.parse(values.format),
      systemPrompt: values['system-prompt'],
    };
    const tokenizer = values.model ? await tokenizerFromDir(values.model) : null;
    const started = performance.now();
    const result = await importDataset(await filesFromPaths(paths), settings, { tokenizer });
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
