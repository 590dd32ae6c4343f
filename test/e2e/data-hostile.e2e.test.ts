/**
 * Hostile files in real Chromium: the corpus with known good and bad rows (test/fixtures/hostile-datasets.ts)
 * imported through the webkitdirectory input and through a real folder drag-and-drop from disk must show exactly
 * the rows and problems the Node import finds (every good row kept, every bad one listed with file, line and byte
 * offset). Chromium leaves a link inside the folder out (the page never sees it); the Node import lists it as
 * skipped and does not read it either, so both give the same rows. A dataset whose chat template renders no answer
 * is refused on the page with the reason.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importDataset, type ImportResult } from '../../src/data/import.ts';
import { filesFromPaths, LINK_NOT_FOLLOWED } from '../../src/data/node-files.ts';
import { hostileCorpus } from '../fixtures/hostile-datasets.ts';
import { buildFixtureTokenizer } from '../fixtures/tokenizer.ts';
import { launchBrowser } from './browser.ts';
import { dragFromDisk, expectedCounts, importFolder, openData, runs, shownCounts, waitForResult } from './data-page.ts';

async function shownProblems(page: Page): Promise<string[]> {
  const rows = await page.$$eval('[data-testid="problem"]', (els) =>
    els.map(
      (e) => `${e.getAttribute('data-file')}:${e.getAttribute('data-line') || '-'} ${e.getAttribute('data-code')}`,
    ),
  );
  return rows.sort();
}

const problemKeys = (r: ImportResult) => r.problems.map((p) => `${p.file}:${p.line ?? '-'} ${p.code}`).sort();

describe('hostile datasets in Chromium', () => {
  let browser: Browser;
  let tmp: string;
  let folder: string;
  let node: ImportResult;
  beforeAll(async () => {
    browser = await launchBrowser();
    tmp = mkdtempSync(join(tmpdir(), 'lora-hostile-e2e-'));
    for (const f of hostileCorpus().files) {
      mkdirSync(dirname(join(tmp, f.path)), { recursive: true });
      writeFileSync(join(tmp, f.path), f.bytes);
    }
    folder = join(tmp, 'hostile');
    symlinkSync(join(tmp, 'linked.jsonl'), join(folder, 'link.jsonl'));
    writeFileSync(join(tmp, 'linked.jsonl'), '{"prompt": "through a link", "completion": "kept"}\n');
    node = await importDataset(await filesFromPaths([folder]));
  });
  afterAll(async () => {
    await browser?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('the folder input shows the rows and problems the Node import finds', async () => {
    const { context, page, errors } = await openData(browser);
    await importFolder(page, folder);
    expect(await shownCounts(page)).toMatchObject(expectedCounts(node));
    expect(await shownProblems(page)).toEqual(problemKeys(node));
    // The byte offset is in the reason shown for bytes that are not text.
    const nul = node.problems.find((p) => p.code === 'nul_byte' && p.file.endsWith('nul.jsonl'))!;
    const text = await page.locator(`[data-testid="problem"][data-file="${nul.file}"]`).innerText();
    expect(text).toContain(`at byte ${nul.offset}`);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('a real drag-and-drop from disk gives the same result; the link is left out as in Node', async () => {
    const { context, page, errors } = await openData(browser);
    const before = await runs(page);
    await dragFromDisk(page, '[data-testid="dropzone"]', [folder]);
    await waitForResult(page, before);
    expect(await shownCounts(page)).toMatchObject(expectedCounts(node));
    expect(await shownProblems(page)).toEqual(problemKeys(node));
    expect(node.skipped).toContainEqual({ path: 'hostile/link.jsonl', reason: LINK_NOT_FOLLOWED });
    expect(node.records.some((r) => r.source.file === 'hostile/link.jsonl')).toBe(false);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('a chat template that renders no answer: the page refuses the dataset and says why', async () => {
    const { context, page, errors } = await openData(browser);
    const model = join(tmp, 'model-empty-template');
    mkdirSync(model, { recursive: true });
    const files = buildFixtureTokenizer('chatml');
    writeFileSync(join(model, 'tokenizer.json'), JSON.stringify(files.tokenizer));
    writeFileSync(join(model, 'tokenizer_config.json'), JSON.stringify({ ...files.config, chat_template: '' }));
    await page.click('[data-testid="settings"] > summary');
    await page.setInputFiles('[data-testid="tokenizer-input"]', model);
    expect(
      await page.locator('#set-tokenizer').evaluate((s) => (s as HTMLSelectElement).selectedOptions[0]?.textContent),
    ).toContain('model-empty-template');
    const rows = join(tmp, 'rows');
    mkdirSync(rows, { recursive: true });
    writeFileSync(
      join(rows, 'chat.jsonl'),
      '{"prompt": "One?", "completion": "Yes."}\n{"prompt": "Two?", "completion": "No."}\n',
    );
    await importFolder(page, rows);
    expect(await shownCounts(page)).toMatchObject({ records: 0, untrainable: 2, problems: 2 });
    await page.waitForSelector('[data-testid="refusal"]');
    expect(await page.locator('[data-testid="refusal"]').innerText()).toMatch(/has a token to train on/);
    expect(errors).toEqual([]);
    await context.close();
  });
});
