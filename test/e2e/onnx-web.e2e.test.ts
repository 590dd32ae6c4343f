/**
 * The deployed model in the browser: a run exported as ONNX (f32) on the Export page keeps a copy in the browser;
 * the Try page's "Run it with onnxruntime-web" loads it with onnxruntime-web in its own worker (WebGPU where
 * Chromium has it, here SwiftShader's; WASM otherwise) and streams its greedy answer next to the engine's, token for
 * token the same on the tiny model. The ORT binary comes from the app's own origin (no other host is asked);
 * deleting the run deletes the copy.
 */
import { describe, expect, inject, it } from 'vitest';
import { fakeCheckpoint, fakeRun, qvModules } from '../fixtures/fake-run.ts';
import { Rng, testSeed } from '../harness/rng.ts';
import { screenshot, watchErrors } from './browser.ts';
import { storeRuns } from './runs-db.ts';
import { useTinyModelAndBrowser } from './tiny-browser.ts';

const env = useTinyModelAndBrowser('onnx-web');

describe('Run it with onnxruntime-web', () => {
  it('exports a run as ONNX and answers with onnxruntime-web exactly as the engine does', async () => {
    const context = await env.browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
    const page = await context.newPage();
    const errors = watchErrors(page);
    const origin = new URL(inject('baseUrl')).origin;
    const foreign: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(origin) && !/^(blob|data):/.test(r.url())) foreign.push(r.url());
    });
    const ortFiles: string[] = [];
    page.on('response', (r) => {
      if (/ort-wasm.*\.wasm$/.test(r.url())) ortFiles.push(r.url());
    });

    await page.goto(`${inject('baseUrl')}#/model`);
    await page.setInputFiles('[data-testid="model-folder-input"]', env.modelDir);
    await page.waitForSelector('[data-testid="local-model-done"], [data-testid="local-model-error"]', {
      timeout: 120_000,
    });
    expect(await page.locator('[data-testid="local-model-error"]').count()).toBe(0);

    // A run as training stores it, trained on the full-precision base (the engine then answers from f32 weights).
    const model = { repo: 'local/tiny-llama', revision: 'main' };
    const rng = new Rng(testSeed('onnx-web e2e'));
    const run = fakeRun('run-onnx', 'Deployed', model, { rank: 4, alpha: 8, step: 12, base: 'none' });
    const ckpt = fakeCheckpoint({
      rng,
      step: 12,
      rank: 4,
      alpha: 8,
      modules: qvModules(env.tiny.dims),
      baseModel: model.repo,
      base: 'none',
      scale: 0.3,
    });
    await storeRuns(page, [{ run, checkpoints: [{ step: 12, valLoss: null, bytes: ckpt.bytes }], evals: [] }]);

    // Before any ONNX export the Try page says where to make one.
    await page.goto(`${inject('baseUrl')}#/try`);
    await page.reload();
    await page.locator('[data-testid="try-run"]').selectOption('run-onnx');
    await page.locator('[data-testid="try-onnx-none"]').waitFor();

    // Export: ONNX, f32 only, as a zip; a copy stays in the browser.
    await page.goto(`${inject('baseUrl')}#/export`);
    await page.locator('#export-run').selectOption('run-onnx');
    await page.click('[data-testid="format-onnx"]');
    await page.locator('[data-testid="onnx-variant-q4"]').uncheck();
    await page.locator('[data-testid="onnx-variant-f32"]').check();
    expect(await page.locator('[data-testid="onnx-keep-copy"]').isChecked()).toBe(true);
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 120_000 }),
      page.getByRole('button', { name: 'Download .zip' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('Deployed-onnx.zip');
    await page.locator('[data-testid="export-done"]').waitFor();

    // Try it: the engine (base and adapter) and onnxruntime-web, greedy, the same prompt.
    await page.goto(`${inject('baseUrl')}#/try`);
    await page.locator('[data-testid="try-run"]').selectOption('run-onnx');
    await page.locator('[data-testid="try-onnx-options"]').waitFor();
    expect(await page.locator('[data-testid="try-onnx"]').isChecked()).toBe(true);
    await page.getByLabel('Prompt', { exact: true }).fill('Say hello to the deployed model.');
    await page.getByLabel('Max new tokens').fill('16');
    await page.getByLabel('Temperature').fill('0');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.waitForSelector('[data-testid="answer-onnx"][data-status="streaming"], [data-testid="onnx-error"]', {
      timeout: 120_000,
    });
    expect(await page.locator('[data-testid="onnx-error"]').count()).toBe(0);
    await page.waitForSelector('[data-testid="answer-adapter"][data-status="done"]', { timeout: 240_000 });
    await page.waitForSelector('[data-testid="answer-onnx"][data-status="done"]', { timeout: 240_000 });
    await expect.poll(async () => page.getByRole('button', { name: 'Generate' }).isEnabled()).toBe(true);
    await screenshot(page, 'try-onnx-web');

    const engineText = await page.locator('[data-testid="answer-adapter-text"] .answer-text').innerText();
    const onnxText = await page.locator('[data-testid="answer-onnx-text"] .answer-text').innerText();
    const engineTokens = Number(await page.locator('[data-testid="answer-adapter-tokens"]').innerText());
    const onnxTokens = Number(await page.locator('[data-testid="answer-onnx-tokens"]').innerText());
    expect(engineTokens).toBeGreaterThan(1);
    expect(onnxText).toBe(engineText);
    expect(onnxTokens).toBe(engineTokens);
    expect(await page.locator('[data-testid="onnx-verdict"]').innerText()).toBe(
      'Same answer as the engine with the adapter.',
    );
    // Which execution provider ran is shown; Chromium here has WebGPU (SwiftShader), so it is WebGPU.
    const ep = await page.locator('[data-testid="onnx-column"]').getAttribute('data-ep');
    const subtitle = await page.locator('[data-testid="answer-onnx"] .answer-subtitle').innerText();
    expect(subtitle).toMatch(/^(WebGPU|WASM) · onnx\/model\.onnx/);
    expect(ep).toBe('webgpu');

    // Deleting the run deletes the copy kept for the check.
    const copyExists = () =>
      page.evaluate(async () => {
        try {
          const root = await navigator.storage.getDirectory();
          await (await root.getDirectoryHandle('onnx-exports')).getDirectoryHandle('run-onnx');
          return true;
        } catch {
          return false;
        }
      });
    expect(await copyExists()).toBe(true);
    await page.goto(`${inject('baseUrl')}#/train`);
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete Deployed' }).click();
    await expect.poll(copyExists, { timeout: 30_000 }).toBe(false);

    // onnxruntime-web's binary came from the app's own origin; nothing else was fetched.
    expect(ortFiles.length).toBeGreaterThan(0);
    for (const url of ortFiles) expect(url.startsWith(origin)).toBe(true);
    expect(foreign).toEqual([]);
    expect(errors.filter((e) => !/Failed to load resource/.test(e))).toEqual([]);
    await context.close();
  });
});
