/**
 * The structure of every page, empty and then with a model, a dataset and a finished run in the browser: exactly one
 * <h1>, headings that never skip a level, and a "Skip to content" link that is the first thing Tab reaches and that
 * (Enter) moves focus to <main id="main"> without leaving the page.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { SectionId } from '../../src/app/sections.ts';
import { PAGE_IDS, fillApp, openPage } from './app-pages.ts';
import { screenshot, watchErrors } from './browser.ts';
import { DESKTOP } from './data-page.ts';
import { useTinyModelAndBrowser } from './tiny-browser.ts';

const env = useTinyModelAndBrowser('structure');

/** What is wrong with one page's structure; an empty list when nothing is. */
async function structureProblems(page: Page, id: SectionId, shot?: string): Promise<string[]> {
  // A fresh document, so that Tab starts from the top of the page.
  await page.goto('about:blank');
  await openPage(page, id);
  if (shot) await screenshot(page, shot);
  const problems: string[] = [];
  const headings = await page.$$eval('h1, h2, h3, h4, h5, h6', (els) =>
    els.map((e) => ({ level: Number(e.tagName[1]), text: (e.textContent ?? '').trim().slice(0, 60) })),
  );
  const h1s = headings.filter((h) => h.level === 1);
  if (h1s.length !== 1) problems.push(`${h1s.length} <h1> elements (${h1s.map((h) => h.text).join(', ')})`);
  if (headings[0]?.level !== 1) problems.push(`the first heading is <h${headings[0]?.level}> "${headings[0]?.text}"`);
  for (let i = 1; i < headings.length; i++) {
    const [prev, cur] = [headings[i - 1]!, headings[i]!];
    if (cur.level > prev.level + 1)
      problems.push(`<h${cur.level}> "${cur.text}" follows <h${prev.level}> "${prev.text}" (skips a level)`);
  }

  await page.keyboard.press('Tab');
  const first = await page.evaluate(() => ({
    text: document.activeElement?.textContent?.trim() ?? '',
    tag: document.activeElement?.tagName ?? '',
  }));
  if (first.text !== 'Skip to content' || first.tag !== 'A')
    problems.push(`the first Tab stop is <${first.tag.toLowerCase()}> "${first.text}", not the skip link`);
  else {
    const box = await page.locator('.skip-link').boundingBox();
    if (!box || box.y < 0 || box.x < 0) problems.push('the focused skip link is not on screen');
  }
  const url = page.url();
  await page.keyboard.press('Enter');
  const focused = await page.evaluate(() => {
    const el = document.activeElement;
    return { tag: el?.tagName ?? '', id: el?.id ?? '' };
  });
  if (focused.tag !== 'MAIN' || focused.id !== 'main')
    problems.push(`after Enter on the skip link the focus is on <${focused.tag.toLowerCase()}#${focused.id}>`);
  if (page.url() !== url) problems.push(`the skip link changed the address to ${page.url()}`);
  return problems.map((p) => `${id}: ${p}`);
}

describe('page structure', () => {
  it('gives every page one h1, headings in order and a working skip link, empty and filled', async () => {
    const context = await env.browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    const errors = watchErrors(page);
    const problems: string[] = [];
    for (const id of PAGE_IDS) problems.push(...(await structureProblems(page, id)).map((p) => `empty ${p}`));
    await fillApp(page, env.modelDir, env.tiny);
    for (const id of PAGE_IDS)
      problems.push(...(await structureProblems(page, id, `page-desktop-${id}`)).map((p) => `filled ${p}`));
    expect(problems, problems.join('\n')).toEqual([]);
    expect(errors.filter((e) => !/Failed to load resource/.test(e))).toEqual([]);
    await context.close();
  });
});
