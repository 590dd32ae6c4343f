/**
 * `npm run bench:import [-- --sizes 8,16,32,40]`: dataset import time and peak memory for one very
 * long row (MB of text) in each container: JSONL, JSON array, CSV and Markdown. Each case runs in a
 * child process of its own, so its peak RSS (`process.resourceUsage().maxRSS`) is its own; the
 * first line is the baseline, a tiny file. The row sits between two short rows, which must also
 * come through.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importDataset } from '../src/data/import.ts';
import { filesFromPaths } from '../src/data/node-files.ts';
import { runBench } from './harness.ts';

interface CaseResult {
  records: number;
  problems: number;
  seconds: number;
  maxRssMB: number;
}

/** A file of `mb` MiB: one long row between two short ones. */
function write(dir: string, container: string, mb: number): string {
  const long = 'x'.repeat(Math.round(mb * 1024 * 1024));
  const pc = (p: string, c: string) => JSON.stringify({ prompt: p, completion: c });
  const text: Record<string, string> = {
    jsonl: `${pc('a', 'b')}\n${pc('long', long)}\n${pc('c', 'd')}\n`,
    json: `[${pc('a', 'b')},\n${pc('long', long)},\n${pc('c', 'd')}]\n`,
    csv: `prompt,completion\na,b\nlong,${long}\nc,d\n`,
    md: `# Notes\n\n${long}\n`,
  };
  const path = join(dir, `row-${mb}mb.${container}`);
  writeFileSync(path, text[container]!);
  return path;
}

async function runCase(file: string): Promise<void> {
  const started = performance.now();
  const result = await importDataset(await filesFromPaths([file]));
  const seconds = (performance.now() - started) / 1000;
  const out: CaseResult = {
    records: result.counts.records,
    problems: result.counts.problems,
    seconds,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function main(argv: string[]): Promise<void> {
  const at = argv.indexOf('--case');
  if (at >= 0) return runCase(argv[at + 1]!);
  const sizesAt = argv.indexOf('--sizes');
  const sizes = sizesAt >= 0 ? argv[sizesAt + 1]!.split(',').map(Number) : [8, 16, 32, 40];
  const dir = mkdtempSync(join(tmpdir(), 'bench-import-'));
  const child = (file: string) =>
    JSON.parse(execFileSync(process.execPath, [process.argv[1]!, '--case', file], { encoding: 'utf8' })) as CaseResult;
  try {
    const rows = ['| file | row MiB | records | s | peak RSS MiB |', '|---|---:|---:|---:|---:|'];
    const base = child(write(dir, 'jsonl', 0.001));
    rows.push(
      `| baseline (tiny JSONL) | 0 | ${base.records} | ${base.seconds.toFixed(2)} | ${base.maxRssMB.toFixed(0)} |`,
    );
    for (const container of ['jsonl', 'json', 'csv', 'md'])
      for (const mb of sizes) {
        const r = child(write(dir, container, mb));
        rows.push(
          `| .${container} | ${mb} | ${r.records} | ${r.seconds.toFixed(2)} | ${r.maxRssMB.toFixed(0)} |` +
            (r.problems ? ` ${r.problems} problems` : ''),
        );
      }
    process.stdout.write(`${rows.join('\n')}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

runBench(main);
