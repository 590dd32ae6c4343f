import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchBrowser, screenshot, watchErrors } from './browser.ts';

describe('app shell in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('is cross-origin isolated and shows the GPU adapter found by the worker', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = watchErrors(page);
    await page.goto(`${inject('baseUrl')}#/gpu`);
    // Either outcome renders; a missing adapter must fail the test, loudly.
    await page.waitForSelector('[data-testid="gpu-ready"], [data-testid="gpu-missing"]', { timeout: 60_000 });
    await screenshot(page, 'device-1280x800');
    const missing = await page.locator('[data-testid="gpu-missing"]').count();
    if (missing > 0)
      throw new Error(`The app found no GPU: ${await page.locator('[data-testid="gpu-missing"]').innerText()}`);

    const adapter = await page.locator('[data-testid="gpu-adapter"]').innerText();
    const architecture = await page.locator('[data-testid="gpu-architecture"]').innerText();
    // What the page shows must be what the browser itself reports (asked from the page: the app's CSP allows no
    // blob: worker, so a probe worker of the test's own would be refused and never answer).
    const direct = await page.evaluate(async () => {
      const adapter = await navigator.gpu.requestAdapter();
      return adapter ? adapter.info.architecture : null;
    });
    expect(direct).toBeTruthy();
    expect(architecture).toBe(direct);
    expect(adapter.length).toBeGreaterThan(0);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect(await page.locator('[data-testid="gpu-features"] li').count()).toBe(3);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('fits a narrow window', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(`${inject('baseUrl')}#/gpu`);
    await page.waitForSelector('[data-testid="gpu-ready"]', { timeout: 60_000 });
    await screenshot(page, 'device-390x844');
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await page.close();
  });
});
