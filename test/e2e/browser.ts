/**
 * Headless Debian Chromium driven by playwright-core, with WebGPU on. Never downloads a browser:
 * the executable is /usr/bin/chromium (or CHROMIUM_PATH); `npm test` installs it with apt when missing.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = join(process.cwd(), 'test', 'artifacts');

export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}. Run the tests with \`npm test\` (it installs Debian's chromium), or set CHROMIUM_PATH.`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** Collects the page's console errors and uncaught exceptions, so a test can assert there were none. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`page: ${err.message}`));
  return errors;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Every network request of a browser context (pages and their workers), by origin, and the Content-Security-Policy
 * violations its pages report; `outside(allowed)` lists the URLs whose origin is not in `allowed`.
 */
export function recordNetwork(context: BrowserContext): {
  urls: string[];
  violations: string[];
  outside: (allowed: string[]) => string[];
} {
  const urls: string[] = [];
  const violations: string[] = [];
  context.on('request', (r) => urls.push(r.url()));
  context.on('console', (msg) => {
    if (/Content Security Policy|Refused to/i.test(msg.text())) violations.push(msg.text());
  });
  void context.exposeBinding('__cspViolation', (_source, text: string) => violations.push(text));
  void context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      (window as unknown as { __cspViolation(t: string): void }).__cspViolation(
        `${e.violatedDirective}: ${e.blockedURI}`,
      ),
    );
  });
  return {
    urls,
    violations,
    outside: (allowed) =>
      urls.filter((u) => {
        const origin = new URL(u).origin;
        // data: and blob: URLs never leave the browser
        return !u.startsWith('data:') && !u.startsWith('blob:') && !allowed.includes(origin);
      }),
  };
}
