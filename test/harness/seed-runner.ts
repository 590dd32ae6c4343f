/**
 * The vitest runner of the random-seed sweep (`npm run test:seeds`; vite.config.ts uses it when TEST_SEED_SWEEP is
 * set). Every test runs 1 + repeats times (TEST_SEED_SWEEP_SEEDS tries in all); before each try a fresh seed is drawn
 * in-process and handed to `seededRng` through ./seed-sweep.ts. A test that asked for no seeded generator on its
 * first try does not depend on the seed: its later tries return at once. Each try is recorded in the report with
 * its seed and, when it failed, the error, so `TEST_SEED=<seed>` replays it.
 */
import { type RunnerTestCase, TestRunner } from 'vitest';
import { sweepRecord, sweepState } from './seed-sweep.ts';

type AnyTask = Parameters<TestRunner['onBeforeRunTask']>[0];

function fullName(task: { name: string; suite?: { name: string; suite?: unknown } | undefined }): string {
  const names: string[] = [task.name];
  let s = task.suite as { name: string; suite?: unknown } | undefined;
  while (s && s.name) {
    names.unshift(s.name);
    s = s.suite as typeof s;
  }
  return names.join(' > ');
}

export default class SeedSweepRunner extends TestRunner {
  /** Tests whose first try used no seeded generator (their later tries are skipped). */
  private readonly unseeded = new Set<string>();
  private errorsBefore = 0;

  override async onBeforeRunTask(test: AnyTask): Promise<void> {
    if (test.type === 'test') test.repeats = Math.max(0, Number(process.env.TEST_SEED_SWEEP_SEEDS ?? 50) - 1);
    await super.onBeforeRunTask(test);
  }

  override onBeforeTryTask(test: AnyTask): void {
    super.onBeforeTryTask(test);
    const state = sweepState()!;
    state.seed = (Math.random() * 2 ** 32) >>> 0;
    state.test = fullName(test);
    state.seeded = false;
    this.errorsBefore = test.result?.errors?.length ?? 0;
  }

  async runTask(test: RunnerTestCase): Promise<void> {
    if ((test.result?.repeatCount ?? 0) > 0 && this.unseeded.has(test.id)) return;
    const fn = TestRunner.getTestFn(test);
    await fn();
  }

  /** Called after every try, passed or failed (onAfterTryTask is skipped when the test throws). */
  onAfterRetryTask(test: RunnerTestCase): void {
    const state = sweepState()!;
    const repeat = test.result?.repeatCount ?? 0;
    if (repeat === 0 && !state.seeded) this.unseeded.add(test.id);
    if (repeat > 0 && this.unseeded.has(test.id)) return;
    const errors = test.result?.errors ?? [];
    const fresh = errors.slice(this.errorsBefore);
    sweepRecord({
      kind: 'try',
      test: state.test,
      file: test.file.filepath,
      seed: state.seed,
      seeded: state.seeded,
      failed: fresh.length > 0,
      error: fresh.length > 0 ? String(fresh[0]!.message ?? fresh[0]).slice(0, 600) : null,
    });
  }
}
