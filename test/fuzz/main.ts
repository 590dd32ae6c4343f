/**
 * `npm run fuzz [-- flags]`: mutates valid files of every format (the targets of ./targets/) and runs the CLI on
 * each mutated case in a child process (./run-case.ts), classifying what happens: a clean error, a crash, a hang, a
 * memory blow-up, accepted, or accepted with non-finite output. Exit code 1 when any case crashed, hung, blew up,
 * produced non-finite output with exit 0, or failed without naming the bad file.
 *
 *   --target=a,b         targets to run (default: all; --list prints them)
 *   --time=60s           time per target (default 60s); --time-<target>=10m overrides one
 *   --cases=N            at most N cases per target (with a fixed --seed, a reproducible run: what npm test runs)
 *   --seed=N             the run's seed (default: drawn and printed); case i of a target is replayed by
 *                        --seed=N --target=T --replay=i
 *   --timeout=30s        CPU time per case (user + system, all threads; wall clock: 4 × it); --memory-base=256M: the memory cap is the seed case's peak RSS (the command's own
 *                        cost: Node, the GPU driver) + 2 × the case's input bytes + this, at most 4G
 *   --out=DIR            report and failing cases (default test/artifacts/fuzz)
 * The CLI must be built first (`npm run fuzz` does it: dist/cli/main.js).
 */
import { cp, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { exitAfterOutput } from '../../src/cli/exit.ts';
import { Rng } from '../harness/rng.ts';
import { buildCorpus } from './corpus.ts';
import { type CaseResult, FAILING, type Outcome, runCase } from './run-case.ts';
import type { FuzzTarget } from './target.ts';
import { TARGETS } from './targets/index.ts';

const OUTCOMES: Outcome[] = ['error', 'unnamed', 'accepted', 'non-finite', 'crash', 'hang', 'memory'];

function duration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  if (!m) throw new Error(`not a duration: "${text}" (e.g. 500ms, 30s, 10m)`);
  const unit = { ms: 1, s: 1000, m: 60000, h: 3600000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

function bytes(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMG]?)$/i.exec(text);
  if (!m) throw new Error(`not a size: "${text}" (e.g. 256M)`);
  return Number(m[1]) * { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await folderBytes(p);
    else if (e.isFile()) total += (await stat(p)).size;
  }
  return total;
}

/** The case seed: the run's seed mixed with the target's name and the case index (FNV-1a). */
function caseSeed(seed: number, target: string, index: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (const ch of `${target}#${index}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return h >>> 0;
}

interface TargetReport {
  target: string;
  cases: number;
  seconds: number;
  counts: Record<Outcome, number>;
  peakRssMax: number;
  /** Peak RSS of the unmutated seed case (the command's own cost). */
  baselineRss: number;
  failures: { index: number; outcome: Outcome; note: string; message: string; detail: string | null; saved: string }[];
}

async function main(argv: string[]): Promise<number> {
  const flags = new Map<string, string>();
  for (const a of argv) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unknown argument "${a}"`);
    flags.set(m[1]!, m[2] ?? 'true');
  }
  if (flags.has('list')) {
    for (const t of TARGETS) process.stdout.write(`${t.name.padEnd(16)} ${t.description}\n`);
    return 0;
  }
  const names = flags.get('target')?.split(',') ?? TARGETS.map((t) => t.name);
  const targets = names.map((n) => {
    const t = TARGETS.find((x) => x.name === n);
    if (!t) throw new Error(`unknown target "${n}" (known: ${TARGETS.map((x) => x.name).join(', ')})`);
    return t;
  });
  const seed = flags.has('seed') ? Number(flags.get('seed')) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  const maxCases = flags.has('cases') ? Number(flags.get('cases')) : Infinity;
  const replay = flags.has('replay') ? Number(flags.get('replay')) : null;
  const timeoutMs = duration(flags.get('timeout') ?? '30s');
  const memoryBase = bytes(flags.get('memory-base') ?? '256M');
  const out = resolve(flags.get('out') ?? join('test', 'artifacts', 'fuzz'));
  const cli = resolve(flags.get('cli') ?? join('dist', 'cli', 'main.js'));
  await stat(cli).catch(() => {
    throw new Error(`${cli} is missing: build the CLI first (npm run fuzz does)`);
  });
  await mkdir(out, { recursive: true });
  const work = await mkdtemp(join(tmpdir(), 'fuzz-'));
  const env = {
    VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? '/usr/lib/chromium/vk_swiftshader_icd.json',
    XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp',
  };
  process.stdout.write(`fuzz: seed ${seed} (replay with --seed=${seed}), targets ${names.join(', ')}\n`);
  const reports: TargetReport[] = [];
  try {
    const corpus = await buildCorpus(join(work, 'corpus'));
    for (const target of targets as FuzzTarget[]) {
      const budget = duration(flags.get(`time-${target.name}`) ?? flags.get('time') ?? '60s');
      const state = await target.prepare(corpus);
      const counts = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
      const report: TargetReport = {
        target: target.name,
        cases: 0,
        seconds: 0,
        counts,
        peakRssMax: 0,
        baselineRss: 0,
        failures: [],
      };
      const seedDir = join(work, 'case');
      await rm(seedDir, { recursive: true, force: true });
      await mkdir(seedDir, { recursive: true });
      const seedResult = await runCase(await target.seedCase(state, seedDir), seedDir, {
        cli,
        timeoutMs,
        memoryCap: 4 * 2 ** 30,
        env,
      });
      if (seedResult.outcome !== 'accepted')
        throw new Error(
          `${target.name}: the unmutated seed was not accepted (${seedResult.outcome}): ${seedResult.message}`,
        );
      const baseline = seedResult.peakRss;
      report.baselineRss = baseline;
      const started = performance.now();
      for (let i = replay ?? 0; ; i++) {
        if (replay !== null ? i > replay : report.cases >= maxCases || performance.now() - started >= budget) break;
        const dir = join(work, 'case');
        await rm(dir, { recursive: true, force: true });
        await mkdir(dir, { recursive: true });
        const c = await target.makeCase(state, new Rng(caseSeed(seed, target.name, i)), dir);
        const inputBytes = await folderBytes(dir);
        const memoryCap = Math.min(baseline + 2 * inputBytes + memoryBase, 4 * 2 ** 30);
        const r: CaseResult = await runCase(c, dir, { cli, timeoutMs, memoryCap, env });
        report.cases++;
        counts[r.outcome]++;
        report.peakRssMax = Math.max(report.peakRssMax, r.peakRss);
        if (replay !== null || FAILING.includes(r.outcome)) {
          const saved = join(out, 'cases', `${target.name}-${i}`);
          await rm(saved, { recursive: true, force: true });
          await cp(dir, saved, { recursive: true }).catch(() => undefined);
          report.failures.push({
            index: i,
            outcome: r.outcome,
            note: c.note,
            message: r.message,
            detail: r.detail,
            saved,
          });
          process.stdout.write(
            `  ${target.name} #${i}: ${r.outcome.toUpperCase()} (${c.note}) exit ${r.code ?? r.signal} in ${Math.round(r.ms)} ms, rss ${Math.round(r.peakRss / 2 ** 20)} MB\n    ${r.message.replace(/\n/g, '\n    ')}${r.detail ? `\n    ${r.detail}` : ''}\n    argv: ${c.argv.join(' ')}\n`,
          );
        }
      }
      report.seconds = (performance.now() - started) / 1000;
      reports.push(report);
      const line = OUTCOMES.map((o) => `${o} ${counts[o]}`).join(', ');
      process.stdout.write(
        `${target.name}: ${report.cases} cases in ${report.seconds.toFixed(0)} s — ${line}; peak rss ${Math.round(report.peakRssMax / 2 ** 20)} MB (seed ${Math.round(baseline / 2 ** 20)} MB)\n`,
      );
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  await writeFile(join(out, 'report.json'), `${JSON.stringify({ seed, reports }, null, 2)}\n`);
  const failed = reports.reduce((s, r) => s + FAILING.reduce((a, o) => a + r.counts[o], 0), 0);
  const total = reports.reduce((s, r) => s + r.cases, 0);
  process.stdout.write(`fuzz: ${total - failed} passed, ${failed} failed\n`);
  return failed > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => exitAfterOutput(code),
  (err: unknown) => {
    process.stderr.write(`fuzz: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    exitAfterOutput(2);
  },
);
