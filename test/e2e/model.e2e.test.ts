/**
 * Model download in Chromium from the local Hub-like server: visible progress, a cut-off connection resumed with a
 * Range request, then the cached model read back with the server stopped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Hub, startHub } from '../fixtures/hub-server.ts';
import { makeTinyModelZoo } from '../fixtures/make-models.ts';
import { launchBrowser, screenshot, watchErrors } from './browser.ts';

let root: string;
let hub: Hub | undefined;
let browser: Browser;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'e2e-hub-'));
  await makeTinyModelZoo(root, ['tiny/llama']);
  hub = await startHub(root, inject('hubPort'));
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await hub?.close();
  await rm(root, { recursive: true, force: true });
});

describe('model download in the browser', () => {
  it('shows progress, resumes after a cut, and works from the cache with the server stopped', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${inject('baseUrl')}#/model`);
    await page.locator('summary', { hasText: 'Hub address' }).click();
    await page.locator('input[name="hub"]').fill(hub!.baseUrl);
    await page.locator('input[name="repo"]').fill('tiny/llama');
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.waitForSelector('[data-testid="download-panel"]');
    const weights = page.locator('.file-list li', { hasText: 'model.safetensors' });
    expect(await weights.count()).toBe(1);

    // Slow enough to watch; the first transfer of the weights is cut in the middle.
    const size = (await import('node:fs')).statSync(join(root, 'tiny/llama/model.safetensors')).size;
    hub!.stats.reset();
    // Every GET is cut after half the weights' size, which only the weights reach.
    hub!.setHooks({ throttleBytesPerSec: 400_000, cutAfterBytes: Math.floor(size / 2) });
    await page.getByRole('button', { name: 'Download' }).click();
    await page.waitForSelector('[data-testid="download-progress"]');
    const shownPercent = Number(await page.locator('[role="progressbar"]').getAttribute('aria-valuenow'));
    expect(shownPercent).toBeGreaterThanOrEqual(0);
    await page.waitForSelector('[data-testid="download-error"]', { timeout: 60_000 });
    await screenshot(page, 'model-download-interrupted');
    expect(await page.locator('[data-testid="download-error"]').innerText()).toMatch(/interrupted|resume/i);

    hub!.setHooks({ cutAfterBytes: null });
    await page.getByRole('button', { name: 'Resume download' }).click();
    await page.waitForSelector('[data-testid="download-done"]', { timeout: 60_000 });
    const gets = hub!.stats.forFile('model.safetensors').filter((r) => r.method === 'GET');
    expect(gets.length).toBe(2);
    expect(gets[1]!.range).toMatch(/^bytes=\d+-$/);
    expect(gets[1]!.status).toBe(206);
    await screenshot(page, 'model-downloaded');

    // Offline: the server is gone, the cache still has the model and its config.
    await hub!.close();
    hub = undefined;
    await page.reload();
    const row = page.locator('[data-testid="cached-row"]', { hasText: 'tiny/llama' });
    await row.waitFor();
    await row.getByRole('button', { name: 'Open' }).click();
    await expect
      .poll(async () => page.locator('[data-testid="cached-detail"]').innerText())
      .toMatch(/llama, .* parameters, tokenizer included; loaded onto the GPU: \d+ tensors/);
    await screenshot(page, 'model-cached-offline');
    expect(errors.filter((e) => !/Failed to load resource/.test(e))).toEqual([]);
    await context.close();
  });
});
