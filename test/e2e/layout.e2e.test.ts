/**
 * A phone-sized window (390×844): no page of the app scrolls sideways, with a model, a dataset and a finished run in
 * the browser (so the Model page's tables, the Train page's run and history, Try it's pickers and Export's choices are
 * all drawn). A failure names the widest element that sticks out past the right edge of the window.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { PAGE_IDS, fillApp, openPage } from './app-pages.ts';
import { screenshot, watchErrors } from './browser.ts';
import { PHONE } from './data-page.ts';
import { useTinyModelAndBrowser } from './tiny-browser.ts';

const env = useTinyModelAndBrowser('layout');

interface Overflow {
  /** document.documentElement.scrollWidth - clientWidth */
  excess: number;
  /** The widest element whose box reaches past the window's right edge (outside any element that scrolls or clips). */
  widest: string | null;
}

/** How far the page scrolls sideways, and the element that makes it. */
function overflow(page: Page): Promise<Overflow> {
  return page.evaluate(() => {
    const root = document.documentElement;
    const limit = root.clientWidth;
    /** Whether a box between `el` and the page clips it or scrolls it (up its chain of containing blocks). */
    const clipped = (el: Element): boolean => {
      for (let node: Element | null = el; node;) {
        const position = getComputedStyle(node).position;
        if (position === 'fixed') return true; // fixed boxes never widen the page
        let next: Element | null = node.parentElement;
        // An absolutely positioned box escapes every ancestor up to its nearest positioned one.
        if (position === 'absolute')
          while (next && next !== document.body && getComputedStyle(next).position === 'static')
            next = next.parentElement;
        if (!next || next === document.body) return false;
        if (getComputedStyle(next).overflowX !== 'visible') return true;
        node = next;
      }
      return false;
    };
    let widest: { el: Element; width: number; right: number } | null = null;
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.right <= limit + 0.5 || r.width === 0 || clipped(el)) continue;
      if (!widest || r.width > widest.width) widest = { el, width: r.width, right: r.right };
    }
    const describe = (el: Element) => {
      const id = el.id ? `#${el.id}` : '';
      const cls = el.classList.length ? `.${[...el.classList].join('.')}` : '';
      const testid = el.getAttribute('data-testid');
      const text = (el.textContent ?? '').trim().replace(/\s+/g, ' ').slice(0, 40);
      return `<${el.tagName.toLowerCase()}${id}${cls}${testid ? ` data-testid="${testid}"` : ''}> "${text}"`;
    };
    return {
      excess: root.scrollWidth - limit,
      widest: widest
        ? `${describe(widest.el)}, ${Math.round(widest.width)} px wide, right edge at ${Math.round(widest.right)} px of ${limit}`
        : null,
    };
  });
}

describe('layout on a phone', () => {
  it('scrolls no page sideways at 390×844', async () => {
    const context = await env.browser.newContext({ viewport: PHONE });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await fillApp(page, env.modelDir, env.tiny);

    const found: Record<string, Overflow> = {};
    for (const id of PAGE_IDS) {
      await openPage(page, id);
      if (id === 'train') await page.waitForSelector('[data-testid="runs-history"]', { timeout: 30_000 });
      if (id === 'export') await page.waitForSelector('label.choice', { timeout: 30_000 });
      await screenshot(page, `layout-phone-${id}`);
      found[id] = await overflow(page);
    }
    const bad = Object.entries(found)
      .filter(([, o]) => o.excess > 0)
      .map(([id, o]) => `${id}: scrolls ${o.excess} px sideways; widest element past the edge: ${o.widest ?? 'none'}`);
    expect(bad, bad.join('\n')).toEqual([]);
    expect(errors.filter((e) => !/Failed to load resource/.test(e))).toEqual([]);
    await context.close();
  });
});
