/**
 * The validators in a browser worker: builds test/e2e/validate.html (which starts
 * src/validate/worker.ts), serves it on 127.0.0.1 with the app's headers, and drives it in
 * headless Chromium. The worker's results must equal Node's, and bulk validation must leave the
 * page's main thread free.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createValidator } from '../../src/validate/registry.ts';
import type { ValidationResult, ValidatorKind, ValidatorOptions } from '../../src/validate/types.ts';
import { aspProblems, dotGraphs } from '../unit/validate/fixtures.ts';
import { ARTIFACTS, launchBrowser, recordNetwork, watchErrors } from './browser.ts';

const OUT = join(ARTIFACTS, 'validate-page');

describe('validators in a browser worker', () => {
  let server: PreviewServer;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let net: ReturnType<typeof recordNetwork>;

  beforeAll(async () => {
    await build({
      configFile: 'vite.config.ts',
      logLevel: 'error',
      build: { outDir: OUT, emptyOutDir: true, rollupOptions: { input: { validate: 'test/e2e/validate.html' } } },
    });
    server = await preview({
      configFile: 'vite.config.ts',
      logLevel: 'warn',
      build: { outDir: OUT },
      preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false },
    });
    const url = server.resolvedUrls?.local[0];
    if (!url) throw new Error('vite preview did not report a local URL');
    browser = await launchBrowser();
    const context = await browser.newContext();
    net = recordNetwork(context);
    page = await context.newPage();
    errors = watchErrors(page);
    await page.goto(new URL('test/e2e/validate.html', url).href);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const inWorker = (kind: ValidatorKind, texts: string[], options?: ValidatorOptions): Promise<ValidationResult[]> =>
    page.evaluate(([k, t, o]) => window.validatePage.validateMany(k, t, o), [kind, texts, options] as const);

  const inNode = async (kind: ValidatorKind, texts: string[], options?: ValidatorOptions) => {
    const v = createValidator(kind, options);
    const out: ValidationResult[] = [];
    for (const t of texts) out.push(await v.validate(t));
    return out;
  };

  it('gives the same verdicts and messages as Node for ASP, DOT and SQL', async () => {
    const [aspGood] = aspProblems();
    const [dotGood] = dotGraphs();
    const cases: Array<[ValidatorKind, string[]]> = [
      ['asp', [aspGood!.program, 'a :- b.\nc d.', 'p(X) :- not q(X).', 'p(1..3). q(X) :- p(X), X ≠ 2.']],
      ['dot', [dotGood!.dot, 'graph g { a -> b; }', 'digraph { a [label="x]; }', 'digraph { a -> b [color=red }']],
      ['sql', ['SELECT 1;', 'SELEC name FROM t;', "SELECT 'open;", 'CREATE TABLE t(a); SELECT a FROM t WHERE;']],
    ];
    for (const [kind, texts] of cases) {
      const browserResults = await inWorker(kind, texts);
      const nodeResults = await inNode(kind, texts);
      expect(
        browserResults.map((r) => r.ok),
        kind,
      ).toEqual(nodeResults.map((r) => r.ok));
      expect(
        browserResults.map((r) => r.errors),
        kind,
      ).toEqual(nodeResults.map((r) => r.errors));
      expect(browserResults[0]!.ok, `${kind} good answer`).toBe(true);
      expect(
        browserResults.slice(1).every((r) => !r.ok),
        `${kind} broken answers`,
      ).toBe(true);
    }
  });

  it('checks JSON with and without a schema', async () => {
    const schema = { type: 'object', required: ['name'], properties: { name: { type: 'string' } } };
    const texts = ['{"name": "ada"}', '{"name": 3}', '{"name": "ada",}'];
    const plain = await inWorker('json', texts);
    expect(plain.map((r) => r.ok)).toEqual([true, true, false]);
    expect(plain[2]!.errors[0]!.kind).toBe('syntax');
    const withSchema = await inWorker('json', texts, { json: { schema } });
    expect(withSchema.map((r) => r.ok)).toEqual([true, false, false]);
    expect(withSchema[1]!.errors).toEqual((await inNode('json', texts, { json: { schema } }))[1]!.errors);
    // The schema check ran under the app's policy, which has no 'unsafe-eval' (a compiling validator would throw
    // EvalError above). The recorder sees the page's violations; the workers' are pinned by no-eval.test.ts.
    expect(net.violations).toEqual([]);
  });

  it('validates 1,000 DOT and 1,000 ASP answers without blocking the page', async () => {
    const runs = [
      { kind: 'dot' as const, answers: dotGraphs().map((g) => g.dot) },
      { kind: 'asp' as const, answers: aspProblems().map((p) => p.program) },
    ];
    for (const { kind, answers } of runs) {
      const r = await page.evaluate(([k, a]) => window.validatePage.bench(k, a, 1000), [kind, answers] as const);
      console.log(
        `browser worker: ${r.n} ${kind} answers in ${r.ms.toFixed(0)} ms (first, with WASM load: ${r.firstMs.toFixed(0)} ms); ` +
          `page timer ticked ${r.ticks} times, longest gap ${r.maxGapMs.toFixed(0)} ms`,
      );
      expect(r.n).toBe(1000);
      expect(r.valid).toBe(1000);
      // The page kept running its 10 ms timer the whole time: nothing blocked the main thread.
      expect(r.maxGapMs).toBeLessThan(250);
      expect(r.ticks).toBeGreaterThan(r.ms / 10 / 4);
    }
    expect(errors).toEqual([]);
  });
});
