/**
 * The Train page keeps a user out of runs that cannot work: an absurd configuration (rank 512, micro-batch 64, max
 * length 1,000,000) is refused before Start with sentences saying what to change, and a schema bound reads as words;
 * a run that was killed before it finished a step is not resumed on reopen — the page says why, the header shows no
 * live run, and the run can be deleted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fakeRun } from '../fixtures/fake-run.ts';
import { makeTinyModel } from '../fixtures/make-models.ts';
import { launchBrowser, screenshot, watchErrors } from './browser.ts';
import { DESKTOP, dragFromDisk, importFolder, save } from './data-page.ts';
import { storeRuns } from './runs-db.ts';

const DATA = join(__dirname, '..', 'fixtures', 'datasets', 'chatml_presplit');
let root: string;
let modelDir: string;
let browser: Browser;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'e2e-train-control-'));
  modelDir = join(root, 'tiny-llama');
  await makeTinyModel('llama', modelDir);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await rm(root, { recursive: true, force: true });
});

describe('train page control', () => {
  it('refuses an absurd configuration before Start, with the sentence that says what to change', async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${inject('baseUrl')}#/model`);
    await dragFromDisk(page, '[data-testid="local-model-drop"]', [modelDir]);
    await page.waitForSelector('[data-testid="local-model-done"]', { timeout: 60_000 });
    await page.goto(`${inject('baseUrl')}#/data`);
    await page.waitForSelector('[data-testid="no-datasets"], [data-testid="dataset-row"]', { timeout: 30_000 });
    await importFolder(page, DATA);
    await save(page, 'sql-chat');

    await page.goto(`${inject('baseUrl')}#/train`);
    await page.waitForSelector('[data-testid="new-run"]');
    await expect.poll(() => page.locator('#run-model').inputValue()).toBe('local/tiny-llama@main');
    // A new browser gets the basic form: the settings that mean the same on every model, nothing else.
    expect(await page.locator('[data-testid="form-mode-basic"]').isChecked()).toBe(true);
    const fields = () => page.$$eval('.new-run [data-field]', (els) => els.map((e) => e.getAttribute('data-field')));
    expect(await fields()).toEqual(['steps', 'epochs', 'optim.lr', 'lora.rank']);
    expect(await page.locator('#run-samples').count()).toBe(0);
    // Sensible settings: the pre-flight counts the steps and Start is on.
    await page.fill('#cfg-steps', '8');
    await page.click('[data-testid="form-mode-advanced"]');
    expect(await fields()).toEqual(expect.arrayContaining(['steps', 'lora.rank', 'microBatch', 'maxLength']));
    expect(await page.inputValue('#cfg-steps')).toBe('8');
    await page.fill('#cfg-maxLength', '256');
    await page.waitForSelector('[data-testid="preflight-plan"]', { timeout: 30_000 });
    expect(await page.locator('[data-testid="preflight-plan"]').innerText()).toMatch(
      /^8 steps \(\d+\.\d epochs\), up to [\d,]+ tokens per step, about .* of GPU memory\.$/,
    );
    expect(await page.locator('[data-testid="start-run"]').isEnabled()).toBe(true);

    // A schema bound, in words.
    await page.fill('#cfg-lora-rank', '600');
    await expect.poll(() => page.locator('[data-field="lora.rank"] .error-text').innerText()).toBe('Use 512 or less.');
    expect(await page.locator('[data-testid="start-run"]').isEnabled()).toBe(false);

    // Within the schema, but absurd for this model and dataset: refused before Start.
    await page.fill('#cfg-lora-rank', '512');
    await page.fill('#cfg-microBatch', '64');
    await page.fill('#cfg-maxLength', '1000000');
    const problems = page.locator('[data-testid="preflight-problems"]');
    await problems.waitFor({ timeout: 30_000 });
    const text = await problems.innerText();
    expect(text).toMatch(
      /Max length 1,000,000 is longer than this model's context of 512 tokens; set it to 512 or less\./,
    );
    expect(text).toMatch(/Rank 512 is larger than the model's hidden size \d+/);
    expect(text).toMatch(/Micro-batch 64 is larger than the \d+ training examples; set it to \d+ or less\./);
    expect(await page.locator('[data-testid="start-run"]').isEnabled()).toBe(false);
    await screenshot(page, 'train-preflight-refused');

    // Back to basic: an advanced setting that is wrong is pointed at, and the choice of form outlives a reload.
    await page.fill('#cfg-microBatch', '0');
    await page.click('[data-testid="form-mode-basic"]');
    expect(await page.locator('[data-testid="advanced-errors"]').innerText()).toMatch(/switch to Advanced to fix it/);
    await page.click('[data-testid="form-mode-advanced"]');
    await page.fill('#cfg-microBatch', '1');
    await page.reload();
    await page.waitForSelector('#cfg-microBatch', { timeout: 30_000 });
    expect(await page.locator('[data-testid="form-mode-advanced"]').isChecked()).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('does not resume a run killed at step 0 on reopen, says why, and deletes it', async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${inject('baseUrl')}#/train`);
    await page.waitForSelector('[data-testid="new-run"]');
    // What a tab closed in the middle of its first step leaves: a "running" row, no checkpoint, no lock held.
    const model = { repo: 'local/tiny-llama', revision: 'main' };
    const run = {
      ...fakeRun('run-stuck', 'Stuck at step 0', model, { rank: 512, alpha: 16, step: 0 }),
      totalSteps: 40,
    };
    await storeRuns(page, [{ run: { ...run, status: 'running' }, checkpoints: [], evals: [] }]);
    await page.reload();
    await page.waitForSelector('[data-testid="resume-offer"]', { timeout: 60_000 });
    expect(await page.locator('[data-testid="resume-offer"]').innerText()).toMatch(
      /interrupted before it finished its first step, so it was not restarted by itself/,
    );
    // Give a resume the time it would take to show: the run stays interrupted and nothing trains.
    await page.waitForTimeout(1500);
    expect(await page.getAttribute('[data-testid="run-panel"]', 'data-status')).toBe('interrupted');
    expect(await page.locator('[data-testid="live-run-badge"]').count()).toBe(0);
    await screenshot(page, 'train-not-resumed');

    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: `Delete ${run.name}` }).click();
    await page.waitForSelector('[data-testid="runs-history"]', { state: 'detached', timeout: 30_000 });
    expect(await page.locator('[data-testid="resume-offer"]').count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  });
});
