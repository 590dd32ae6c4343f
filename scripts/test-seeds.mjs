#!/usr/bin/env node
/**
 * `npm run test:seeds`: the random-seed sweep, separate from `npm test` (which runs every test with its fixed seed).
 * Runs the test files that draw seeded inputs (those calling `seededRng`, in test/unit and test/kernels) with the
 * sweep runner (test/harness/seed-runner.ts): each test runs --seeds times (default 50) in one vitest process per
 * stage, with a seed drawn in-process for every try, so the cost is the tests' own and not 50 process and device
 * start-ups; tests that take no seed run once. Then it prints, per tolerance of test/harness/tolerances.ts, the
 * worst margin seen (1.00 = exactly at the bound; element-wise max |gpu−ref| / (atol + rtol·|ref|), and norm-wise
 * error / normRel) with the seed and check that produced it, and every failed try with the command to replay it.
 *
 *   npm run test:seeds                                  every seeded unit and GPU test file, 50 seeds
 *   npm run test:seeds -- --seeds=100 --only=gpu        GPU files only, 100 seeds
 *   npm run test:seeds -- test/kernels/trainer.test.ts  some files (any vitest filter may follow, e.g. -t NAME)
 *
 * The report (one JSON line per try and per comparison) and the summary land in test/artifacts/seeds/.
 * Exit code 1 when any try failed. Last line: "seeds: N passed, N failed" (tries).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = process.cwd();
const outDir = join(root, 'test', 'artifacts', 'seeds');
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

const args = process.argv.slice(2);
const flag = (name) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const seeds = Number(flag('seeds') ?? 50);
if (!Number.isInteger(seeds) || seeds < 1) throw new Error(`--seeds must be a positive integer, got ${flag('seeds')}`);
const only = flag('only')?.split(',') ?? ['unit', 'gpu'];
const rest = args.filter((a) => !/^--(seeds|only)=/.test(a));
const explicitFiles = rest.filter((a) => a.endsWith('.ts'));
const vitestExtra = rest.filter((a) => !a.endsWith('.ts'));

const STAGES = [
  { project: 'unit', dir: join('test', 'unit'), env: {} },
  {
    project: 'gpu',
    dir: join('test', 'kernels'),
    env: {
      VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? SWIFTSHADER_ICD,
      XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp',
    },
  },
];

function testFiles(dir) {
  const out = [];
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...testFiles(p));
    else if (e.name.endsWith('.test.ts') && readFileSync(join(root, p), 'utf8').includes('seededRng(')) out.push(p);
  }
  return out.sort();
}

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const report = join(outDir, 'report.jsonl');
let stageFailures = 0;
for (const stage of STAGES) {
  if (!only.includes(stage.project)) continue;
  const files = explicitFiles.length
    ? explicitFiles.filter((f) => relative(root, join(root, f)).startsWith(stage.dir))
    : testFiles(stage.dir);
  if (files.length === 0) continue;
  process.stdout.write(`\n=== ${stage.project}: ${files.length} file(s) × ${seeds} seeds\n`);
  const r = spawnSync(
    process.execPath,
    [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--project', stage.project, ...files, ...vitestExtra],
    {
      stdio: 'inherit',
      env: { ...process.env, ...stage.env, TEST_SEED_SWEEP: report, TEST_SEED_SWEEP_SEEDS: String(seeds) },
    },
  );
  if (r.status !== 0) stageFailures++;
}

const records = existsSync(report)
  ? readFileSync(report, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
  : [];
const tries = records.filter((r) => r.kind === 'try');
const failed = tries.filter((r) => r.failed);
const byTol = new Map();
for (const m of records.filter((r) => r.kind === 'margin')) {
  const t = byTol.get(m.tolerance) ?? { checks: 0, seeds: new Set(), elem: null, norm: null };
  t.checks++;
  t.seeds.add(m.seed);
  if (t.elem === null || m.elem > t.elem.value) t.elem = { value: m.elem, at: m };
  if (m.norm !== null && (t.norm === null || m.norm > t.norm.value)) t.norm = { value: m.norm, at: m };
  byTol.set(m.tolerance, t);
}
const fmt = (x) => (x === null ? '—' : x.value === null ? '—' : x.value.toFixed(3));
const where = (x) => (x === null ? '' : `${x.at.test} / ${x.at.check} (TEST_SEED=${x.at.seed})`);
const lines = [
  `# Random-seed sweep: ${seeds} seeds per test`,
  '',
  `command: npm run test:seeds -- ${args.join(' ')}`.trim(),
  `tries: ${tries.length} (${tries.filter((t) => t.seeded).length} seeded), failed: ${failed.length}`,
  '',
  '| tolerance | checks | seeds | worst element-wise margin | worst norm-wise margin | worst element-wise at |',
  '| --- | --- | --- | --- | --- | --- |',
  ...[...byTol]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([name, t]) => `| ${name} | ${t.checks} | ${t.seeds.size} | ${fmt(t.elem)} | ${fmt(t.norm)} | ${where(t.elem)} |`,
    ),
  '',
  ...(failed.length ? ['## Failed tries', ''] : []),
  ...failed.map(
    (f) =>
      `- ${f.test} — TEST_SEED=${f.seed} npx vitest run ${relative(root, f.file)} -t "${f.test.split(' > ').at(-1)}"\n  ${String(f.error).split('\n')[0]}`,
  ),
];
writeFileSync(join(outDir, 'summary.md'), `${lines.join('\n')}\n`);
process.stdout.write(`\n${lines.join('\n')}\n`);
const failures = failed.length + (failed.length === 0 ? stageFailures : 0);
process.stdout.write(`seeds: ${tries.length - failed.length} passed, ${failures} failed\n`);
// exitCode, not exit(): the process ends once stdout is written out (a pipe is written asynchronously).
process.exitCode = failures > 0 ? 1 : 0;
