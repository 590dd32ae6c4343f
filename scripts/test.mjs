#!/usr/bin/env node
/**
 * `npm test`: everything CI checks, in order, on a machine with no GPU.
 *   0. setup: Debian's chromium (for the browser tests and its SwiftShader Vulkan driver) and libvulkan1
 *      (the loader Dawn opens), installed with apt when missing and running as root;
 *   1. lint (prettier --check; imports run one way, no circles: scripts/check-imports.mjs; eslint), 2. type check (tsc), 3. unit tests (vitest, Node), 4. GPU kernel tests (vitest, Node, `webgpu` on SwiftShader),
 *   4b. fuzz: `npm run fuzz`'s fixed-seed short run (two mutated cases per target, each through the built CLI),
 *   5. judges: real consumers judging our outputs (transformers.js + real tokenizers; llama.cpp), within their own
 *      time budget (JUDGES_BUDGET_S, default 1500 s: past it the stage is stopped and fails),
 *   6. browser tests (vite build + preview on 127.0.0.1, headless chromium via playwright-core).
 * Every stage runs; the exit code is non-zero if any failed. The last line sums the tests:
 *   "tests: N passed, N failed".
 * Flags: --only=unit,gpu,... to run some stages; extra arguments after `--` go to vitest.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const root = process.cwd();
const reports = join(root, 'test', 'artifacts', 'reports');

const args = process.argv.slice(2);
const only = args
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');
const dashdash = args.indexOf('--');
const vitestExtra = dashdash >= 0 ? args.slice(dashdash + 1) : [];

function log(msg) {
  process.stdout.write(`\n=== ${msg}\n`);
}

function run(cmd, argv, env = {}, timeoutSeconds = 0) {
  const r = spawnSync(cmd, argv, {
    stdio: 'inherit',
    env: { ...process.env, ...env },
    ...(timeoutSeconds > 0 ? { timeout: timeoutSeconds * 1000, killSignal: 'SIGTERM' } : {}),
  });
  if (r.error?.code === 'ETIMEDOUT') console.error(`stopped: over the stage's time budget of ${timeoutSeconds} s`);
  return r.status ?? 1;
}

function hasLibVulkan() {
  return [
    '/usr/lib/x86_64-linux-gnu/libvulkan.so.1',
    '/usr/lib/aarch64-linux-gnu/libvulkan.so.1',
    '/usr/lib/libvulkan.so.1',
  ].some(existsSync);
}

function setup() {
  const missing = [];
  if (!existsSync(CHROMIUM) || !existsSync(SWIFTSHADER_ICD)) missing.push('chromium');
  if (!hasLibVulkan()) missing.push('libvulkan1');
  if (missing.length === 0) return 0;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    console.error(
      `Missing Debian packages: ${missing.join(' ')}. Install them with: sudo apt-get install -y ${missing.join(' ')}`,
    );
    return 1;
  }
  log(`setup: apt-get install ${missing.join(' ')}`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  if (run('apt-get', ['update', '-q'], env) !== 0) return 1;
  return run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], env);
}

/** Runs one vitest project with a JSON report, so the totals can be summed at the end. */
function vitest(project, env = {}, budgetSeconds = 0) {
  const out = join(reports, `${project}.json`);
  rmSync(out, { force: true });
  // vitest itself as the child (not through npx), so a stage stopped for its budget stops vitest and its workers
  const code = run(
    process.execPath,
    [
      join(root, 'node_modules', 'vitest', 'vitest.mjs'),
      'run',
      '--project',
      project,
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${out}`,
      ...vitestExtra,
    ],
    env,
    budgetSeconds,
  );
  let passed = 0;
  let failed = 0;
  if (existsSync(out)) {
    const report = JSON.parse(readFileSync(out, 'utf8'));
    passed = report.numPassedTests ?? 0;
    failed = (report.numFailedTests ?? 0) + (report.numRuntimeErrorTestSuites ?? 0);
    if (report.numTotalTests === 0) {
      console.error(`stage ${project}: no test ran`);
      failed += 1;
    }
  } else if (code !== 0) {
    failed += 1;
  }
  if (code !== 0 && failed === 0) failed = 1;
  return { code, passed, failed };
}

/**
 * The fuzzer's fixed-seed short run (test/fuzz/main.ts): the CLI built, then two mutated cases of every target with
 * seed 1, each classified; its report's cases count as tests (a crash, hang, memory blow-up, non-finite output or
 * unnamed error fails).
 */
function fuzz(env) {
  const out = join(root, 'test', 'artifacts', 'fuzz');
  rmSync(join(out, 'report.json'), { force: true });
  if (run('npx', ['vite', 'build', '-c', 'vite.cli.config.ts']) !== 0) return { code: 1, passed: 0, failed: 1 };
  const code = run(
    process.execPath,
    ['--enable-source-maps', join(root, 'dist', 'cli', 'fuzz.js'), '--seed=1', '--cases=2', `--out=${out}`],
    env,
  );
  let passed = 0;
  let failed = 0;
  if (existsSync(join(out, 'report.json'))) {
    const failing = ['crash', 'hang', 'memory', 'non-finite', 'unnamed'];
    for (const r of JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')).reports) {
      const bad = failing.reduce((a, o) => a + (r.counts[o] ?? 0), 0);
      passed += r.cases - bad;
      failed += bad;
    }
  }
  if (code !== 0 && failed === 0) failed = 1;
  return { code, passed, failed };
}

const gpuEnv = {
  VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? SWIFTSHADER_ICD,
  // Dawn's Vulkan backend complains on stderr without it; harmless, but noisy.
  XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp',
};

const stages = [
  { name: 'setup', run: () => ({ code: setup(), passed: 0, failed: 0 }) },
  // Style first: a formatting slip fails in seconds, before the long stages.
  // Then the import direction (scripts/import-rules.mjs): upward imports and circles; then ESLint (eslint.config.js).
  {
    name: 'lint',
    run: () => {
      const steps = [
        ['npx', ['prettier', '--check', '--log-level=warn', '.']],
        [process.execPath, [join(root, 'scripts', 'check-imports.mjs')]],
        ['npx', ['eslint', '--max-warnings=0', '.']],
      ];
      // every step runs, so one run shows every kind of problem
      const codes = steps.map(([cmd, argv]) => run(cmd, argv));
      return { code: codes.find((c) => c !== 0) ?? 0, passed: 0, failed: 0 };
    },
  },
  {
    name: 'typecheck',
    run: () => ({ code: run('npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']), passed: 0, failed: 0 }),
  },
  { name: 'unit', run: () => vitest('unit') },
  { name: 'gpu', run: () => vitest('gpu', gpuEnv) },
  { name: 'fuzz', run: () => fuzz(gpuEnv) },
  { name: 'judges', run: () => vitest('judges', gpuEnv, Number(process.env.JUDGES_BUDGET_S ?? 1500)) },
  { name: 'e2e', run: () => vitest('e2e', gpuEnv) },
];

mkdirSync(reports, { recursive: true });
let passed = 0;
let failed = 0;
const summary = [];
for (const stage of stages) {
  if (only && stage.name !== 'setup' && !only.includes(stage.name)) continue;
  log(`stage ${stage.name}`);
  const started = Date.now();
  const r = stage.run();
  passed += r.passed;
  failed += r.failed;
  const ok = r.code === 0;
  if (!ok && r.failed === 0) failed += 1; // a failed setup or type check counts as a failure
  summary.push(
    `${ok ? 'ok  ' : 'FAIL'} ${stage.name.padEnd(10)} ${((Date.now() - started) / 1000).toFixed(1)}s${r.passed || r.failed ? `  (${r.passed} passed, ${r.failed} failed)` : ''}`,
  );
  if (!ok && stage.name === 'setup') break;
}
log('summary');
process.stdout.write(`${summary.join('\n')}\n`);
process.stdout.write(`tests: ${passed} passed, ${failed} failed\n`);
// exitCode, not exit(): the process ends once stdout is written out (a pipe is written asynchronously).
process.exitCode = failed > 0 ? 1 : 0;
