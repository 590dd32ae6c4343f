/**
 * The Data section in headless Chromium: folders through the webkitdirectory input, a real folder
 * drag-and-drop (DataTransferItem.webkitGetAsEntry) and a synthetic DataTransfer drop, every
 * problem with file and line, saving to IndexedDB and finding it after a reload, export → re-import,
 * rename/delete, token counts, and a streamed 20 MB import with progress while the page stays
 * responsive (the 200 MB measurement is data-large.e2e.test.ts). Every expected value comes from
 * importing the same files in Node.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importDataset } from '../../src/data/import.ts';
import { fileFromBytes } from '../../src/data/inputs.ts';
import { ModelTokenizer } from '../../src/data/tokenizer.ts';
import { buildFixtureTokenizer } from '../fixtures/tokenizer.ts';
import { datasetPath, importFixture } from '../unit/data/helpers.ts';
import { launchBrowser, screenshot } from './browser.ts';
import { recordProgress, watchMainThread, writeChatJsonl } from './data-measure.ts';
import {
  dragFromDisk,
  expectedCounts,
  importFolder,
  listedNames,
  messagesOf,
  noHorizontalScroll,
  openData,
  PHONE,
  reloadAndList,
  runs,
  save,
  shownCounts,
  storedMetas,
  storedRecords,
  waitForResult,
} from './data-page.ts';

describe('Data section in Chromium', () => {
  let browser: Browser;
  let tmp: string;
  beforeAll(async () => {
    browser = await launchBrowser();
    tmp = mkdtempSync(join(tmpdir(), 'lora-data-e2e-'));
  });
  afterAll(async () => {
    await browser?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('imports folders through the webkitdirectory input, shows format, counts and every problem, and keeps them after a reload', async () => {
    const { context, page, errors } = await openData(browser);
    await screenshot(page, 'data-empty-1280x800');
    // The pickers are real, labelled buttons reachable with the keyboard.
    await page.getByRole('button', { name: 'Choose folder' }).focus();
    expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Choose folder');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Choose files');
    expect(
      await page.locator('[data-testid="folder-input"]').evaluate((el) => (el as HTMLInputElement).webkitdirectory),
    ).toBe(true);

    const chatml = await importFixture('chatml_presplit');
    await importFolder(page, datasetPath('chatml_presplit'));
    expect(await page.getAttribute('[data-testid="detected-format"]', 'data-format')).toBe(chatml.format);
    expect(await shownCounts(page)).toMatchObject(expectedCounts(chatml));
    const sourcesText = await page.locator('[data-testid="sources"]').innerText();
    for (const s of chatml.sources) expect(sourcesText).toContain(s.path);
    const roles = await page.locator('[data-testid="preview-role"]').allInnerTexts();
    expect(new Set(roles.map((r) => r.toLowerCase()))).toEqual(new Set(['system', 'user', 'assistant']));
    expect(await page.inputValue('[data-testid="dataset-name"]')).toBe('chatml_presplit');
    expect(await page.locator('[data-testid="problems"]').count()).toBe(0);

    const bad = await importFixture('bad_inputs');
    await importFolder(page, datasetPath('bad_inputs'));
    expect(await page.getAttribute('[data-testid="detected-format"]', 'data-format')).toBe(bad.format);
    expect(await shownCounts(page)).toMatchObject(expectedCounts(bad));
    const shown = await page.$$eval('[data-testid="problem"]', (els) =>
      els.map((e) => ({
        file: e.getAttribute('data-file'),
        line: e.getAttribute('data-line'),
        code: e.getAttribute('data-code'),
        text: (e as HTMLElement).innerText,
      })),
    );
    expect(shown).toHaveLength(bad.problems.length);
    for (const p of bad.problems) {
      const row = shown.find((r) => r.file === p.file && r.line === String(p.line ?? '') && r.code === p.code);
      expect(row, `${p.file}:${p.line} ${p.code}`).toBeDefined();
      expect(row!.text).toContain(p.file);
      expect(row!.text).toContain(p.line === null ? 'whole file' : `line ${p.line}`);
      expect(row!.text.toLowerCase()).toContain(p.reason.toLowerCase());
    }
    await screenshot(page, 'data-result-problems-1280x800');
    await save(page);

    const asp = await importFixture('asp_benchmark');
    await importFolder(page, datasetPath('asp_benchmark'));
    expect(await page.getAttribute('[data-testid="detected-format"]', 'data-format')).toBe('problem_folders');
    expect(await shownCounts(page)).toMatchObject({ ...expectedCounts(asp), system: asp.counts.systemPromptAdded });
    await save(page, 'ASP benchmark');
    expect(await listedNames(page)).toEqual(['ASP benchmark', 'bad_inputs']);

    expect(await reloadAndList(page)).toEqual(['ASP benchmark', 'bad_inputs']);
    const metas = await storedMetas(page);
    expect(metas.map((m) => m.name).sort()).toEqual(['ASP benchmark', 'bad_inputs']);
    const badMeta = metas.find((m) => m.name === 'bad_inputs')!;
    expect(badMeta.counts).toEqual(bad.counts);
    expect(badMeta.format).toBe(bad.format);
    expect(badMeta.problems.map((p) => `${p.file}:${p.line} ${p.code}`).sort()).toEqual(
      bad.problems.map((p) => `${p.file}:${p.line} ${p.code}`).sort(),
    );
    const aspMeta = metas.find((m) => m.name === 'ASP benchmark')!;
    expect(messagesOf(await storedRecords(page, aspMeta.id))).toEqual(messagesOf(asp.records));
    await screenshot(page, 'data-stored-1280x800');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('imports a folder dragged from disk (DataTransferItem.webkitGetAsEntry walks it) and keeps it after a reload', async () => {
    const { context, page, errors } = await openData(browser);
    const personas = await importFixture('personas');
    const before = await runs(page);
    await dragFromDisk(page, '[data-testid="dropzone"]', [datasetPath('personas')]);
    await waitForResult(page, before);
    expect(await page.getAttribute('[data-testid="detected-format"]', 'data-format')).toBe(personas.format);
    expect(await shownCounts(page)).toMatchObject(expectedCounts(personas));
    const sourcesText = await page.locator('[data-testid="sources"]').innerText();
    for (const s of personas.sources) expect(sourcesText).toContain(s.path);
    expect(await page.inputValue('[data-testid="dataset-name"]')).toBe('personas');
    await save(page);
    expect(await reloadAndList(page)).toEqual(['personas']);
    const [meta] = await storedMetas(page);
    expect(meta!.sources.map((s) => s.path)).toEqual(personas.sources.map((s) => s.path));
    expect(messagesOf(await storedRecords(page, meta!.id))).toEqual(messagesOf(personas.records));
    expect(errors).toEqual([]);
    await context.close();
  });

  it('imports files dropped as a DataTransfer built in the page, and re-imports with an edited pairs mapping', async () => {
    const { context, page, errors } = await openData(browser);
    const files = [
      'dot_pairs/documentation.jsonl',
      'dot_pairs/synthetic.jsonl',
      'dot_pairs/training/statemachine_cat/pairs.json',
    ].map((path) => ({
      path,
      text: readFileSync(datasetPath(path), 'utf8'),
    }));
    const pairs = await importFixture('dot_pairs');
    // A drop that holds nothing is answered where it happened, in words.
    await page.evaluate(() => {
      const zone = document.querySelector('[data-testid="dropzone"]')!;
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: new DataTransfer(), bubbles: true, cancelable: true }));
    });
    expect(await page.locator('[data-testid="import-error"]').innerText()).toContain('held no files');
    const before = await runs(page);
    // A script cannot make directory entries: Chromium's webkitGetAsEntry() returns null for items
    // added to a new DataTransfer, so the drop falls back to getAsFile() and the names carry the paths.
    const entries = await page.evaluate((list) => {
      const dt = new DataTransfer();
      for (const f of list) dt.items.add(new File([f.text], f.path, { type: 'application/json' }));
      const zone = document.querySelector('[data-testid="dropzone"]')!;
      const kinds = Array.from(dt.items).map((i) => (i.webkitGetAsEntry() === null ? 'file-only' : 'entry'));
      for (const type of ['dragenter', 'dragover', 'drop'])
        zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
      return kinds;
    }, files);
    expect(entries).toEqual(['file-only', 'file-only', 'file-only']);
    await waitForResult(page, before);
    expect(await page.getAttribute('[data-testid="detected-format"]', 'data-format')).toBe(pairs.format);
    expect(await shownCounts(page)).toMatchObject(expectedCounts(pairs));

    // The inferred mapping of every pairs file is shown, and editing one re-imports that file only.
    const synthetic = pairs.sources.findIndex((s) => s.path === 'dot_pairs/synthetic.jsonl');
    for (const [i, s] of pairs.sources.entries()) {
      expect(await page.inputValue(`#map-prompt-${i}`)).toBe(s.mapping!.prompt.join(', '));
      expect(await page.inputValue(`#map-answer-${i}`)).toBe(s.mapping!.answer);
    }
    await page.fill(`#map-prompt-${synthetic}`, 'output_dot');
    await page.fill(`#map-answer-${synthetic}`, 'input_text');
    const again = await runs(page);
    await page.click('[data-testid="mapping-reimport"]');
    await waitForResult(page, again);
    const swapped = await importFixture('dot_pairs', {
      mappings: { 'dot_pairs/synthetic.jsonl': { prompt: ['output_dot'], answer: 'input_text' } },
    });
    expect(await page.inputValue(`#map-prompt-${synthetic}`)).toBe('output_dot');
    expect(await shownCounts(page)).toMatchObject(expectedCounts(swapped));
    await save(page, 'DOT pairs');
    expect(await reloadAndList(page)).toEqual(['DOT pairs']);
    const [meta] = await storedMetas(page);
    expect(messagesOf(await storedRecords(page, meta!.id))).toEqual(messagesOf(swapped.records));
    expect(errors).toEqual([]);
    await context.close();
  });

  it('exports a stored dataset as JSONL that re-imports to the same records; renames and deletes it', async () => {
    const { context, page, errors } = await openData(browser);
    const personas = await importFixture('personas');
    await importFolder(page, datasetPath('personas'));
    await save(page);
    const row = page.locator('[data-testid="dataset-row"]');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      row.getByRole('button', { name: /Export .* as JSONL/ }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('personas.jsonl');
    const bytes = readFileSync((await download.path())!);
    const reimported = await importDataset([fileFromBytes('personas.jsonl', new Uint8Array(bytes))], { dedupe: false });
    expect(reimported.problems).toEqual([]);
    const [meta] = await storedMetas(page);
    const stored = await storedRecords(page, meta!.id);
    expect(messagesOf(reimported.records)).toEqual(messagesOf(stored));
    expect(messagesOf(reimported.records)).toEqual(messagesOf(personas.records));

    await row.getByRole('button', { name: 'Rename personas' }).click();
    await page.fill('[data-testid="rename-input"]', 'Personas, three voices');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="dataset-row"][data-name="Personas, three voices"]');
    expect((await storedMetas(page)).map((m) => m.name)).toEqual(['Personas, three voices']);

    await row.getByRole('button', { name: 'Delete Personas, three voices' }).click();
    // Nothing is deleted before the confirmation.
    expect(await storedMetas(page)).toHaveLength(1);
    await page.click('[data-testid="confirm-delete"]');
    await page.waitForSelector('[data-testid="no-datasets"]');
    expect(await storedMetas(page)).toEqual([]);
    expect(await storedRecords(page, meta!.id)).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('counts tokens with a model folder tokenizer, shows the length histogram, and re-imports when a setting changes', async () => {
    const model = join(tmp, 'tiny-chatml-model');
    mkdirSync(model, { recursive: true });
    const tokFiles = buildFixtureTokenizer('chatml');
    writeFileSync(join(model, 'tokenizer.json'), JSON.stringify(tokFiles.tokenizer));
    writeFileSync(join(model, 'tokenizer_config.json'), JSON.stringify(tokFiles.config));
    writeFileSync(join(model, 'config.json'), '{}');
    const tok = new ModelTokenizer(tokFiles);

    const { context, page, errors } = await openData(browser);
    await page.click('[data-testid="settings"] > summary');
    // A wrong setting is explained next to its field and blocks the import.
    await page.fill('#set-test', '30');
    expect(await page.locator('#set-test-error').innerText()).toContain('110 %');
    await page.fill('#set-test', '0');
    expect(await page.locator('#set-test-error').count()).toBe(0);

    await page.setInputFiles('[data-testid="tokenizer-input"]', model);
    expect(
      await page.locator('#set-tokenizer').evaluate((s) => (s as HTMLSelectElement).selectedOptions[0]?.textContent),
    ).toContain('tiny-chatml-model');
    const expected = await importFixture('personas', {}, { tokenizer: tok });
    await importFolder(page, datasetPath('personas'));
    await page.waitForSelector('[data-testid="token-histogram"]');
    expect(Number(await page.getAttribute('[data-testid="tokens-p50"]', 'data-value'))).toBe(expected.tokens!.p50);
    expect(Number(await page.getAttribute('[data-testid="tokens-max"]', 'data-value'))).toBe(expected.tokens!.max);
    expect(Number(await page.getAttribute('[data-testid="tokens-trained"]', 'data-value'))).toBe(
      expected.tokens!.trainedTokens,
    );
    // Every bar holds its bin's count; bins left off the chart (past the data) are empty.
    const bars = await page.$$eval('[data-testid="token-histogram"] rect title', (ts) =>
      ts.map((t) => Number(/: ([\d,]+) examples/.exec(t.textContent ?? '')![1]!.replaceAll(',', ''))),
    );
    const bins = expected.tokens!.histogram.counts;
    expect(bars).toEqual(bins.slice(0, bars.length));
    expect(bins.slice(bars.length).every((c) => c === 0)).toBe(true);
    expect(bars.reduce((a, b) => a + b, 0)).toBe(expected.tokens!.records);
    await screenshot(page, 'data-tokens-1280x800');

    // Training on everything changes the trained-token count once the import is redone.
    await page.selectOption('#set-mask', 'all');
    const all = await importFixture('personas', { mask: 'all' }, { tokenizer: tok });
    const before = await runs(page);
    await page.click('[data-testid="reimport"]');
    await waitForResult(page, before);
    expect(Number(await page.getAttribute('[data-testid="tokens-trained"]', 'data-value'))).toBe(
      all.tokens!.trainedTokens,
    );
    expect(all.tokens!.trainedTokens).toBeGreaterThan(expected.tokens!.trainedTokens);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('says on the import report when a system turn was folded for a template without a system role (Gemma)', async () => {
    const model = join(tmp, 'tiny-gemma-model');
    mkdirSync(model, { recursive: true });
    const tokFiles = buildFixtureTokenizer('gemma');
    writeFileSync(join(model, 'tokenizer.json'), JSON.stringify(tokFiles.tokenizer));
    writeFileSync(join(model, 'tokenizer_config.json'), JSON.stringify(tokFiles.config));
    writeFileSync(join(model, 'config.json'), '{}');
    const expected = await importFixture('chatml_presplit', {}, { tokenizer: new ModelTokenizer(tokFiles) });
    expect(expected.counts.systemFolded).toBe(12);

    const { context, page, errors } = await openData(browser);
    await page.setInputFiles('[data-testid="tokenizer-input"]', model);
    await importFolder(page, datasetPath('chatml_presplit'));
    await page.waitForSelector('[data-testid="count-system-folded"]');
    expect(await page.locator('[data-testid="count-system-folded"]').innerText()).toContain('12');
    expect(await page.locator('.note', { hasText: 'folded into the first user turn' }).count()).toBe(1);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('streams a 20 MB JSONL in the worker with progress while the page stays responsive, and cancels', async () => {
    const file = join(tmp, 'medium.jsonl');
    const { rows, size } = await writeChatJsonl(file, 20 * 1024 * 1024);
    const { context, page, errors } = await openData(browser);
    const ticker = await watchMainThread(page);
    const progress = await recordProgress(page);
    const before = await runs(page);
    const started = Date.now();
    await page.setInputFiles('[data-testid="files-input"]', file);
    await waitForResult(page, before);
    const seconds = (Date.now() - started) / 1000;
    const seen = await progress.stop();
    const { maxGapMs, ticks } = await ticker.stop();
    console.log(
      `20 MB import: ${seconds.toFixed(2)} s, ${seen.length} progress updates, longest main-thread gap ${maxGapMs.toFixed(0)} ms (${ticks} ticks)`,
    );

    // Progress came in steps, only forward, and reached the whole file.
    expect(seen.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]!.bytes).toBeGreaterThanOrEqual(seen[i - 1]!.bytes);
      expect(seen[i]!.rows).toBeGreaterThanOrEqual(seen[i - 1]!.rows);
    }
    expect(seen.some((s) => s.bytes > 0 && s.bytes < size && s.rows > 0)).toBe(true);
    expect(seen.at(-1)!.bytes).toBe(size);
    expect(seen.at(-1)!.rows).toBe(rows);
    expect(await shownCounts(page)).toMatchObject({ rows, records: rows, problems: 0 });
    // The page kept running its 10 ms timer: no long freeze while 20 MB were parsed.
    expect(maxGapMs).toBeLessThan(250);
    expect(ticks).toBeGreaterThan(seconds * 20);

    // Cancel stops the worker: no result appears and the dataset worker is gone.
    const workerNames = () => page.workers().map((w) => w.url());
    const again = await runs(page);
    await page.setInputFiles('[data-testid="files-input"]', file);
    await page.waitForSelector(`[data-testid="data-page"][data-runs="${again + 1}"] [data-testid="import-progress"]`);
    expect(workerNames().filter((u) => u.includes('data.worker')).length).toBeGreaterThan(0);
    await page.waitForSelector('[data-testid="progress-bytes"]:not([data-bytes="0"])', { timeout: 30_000 });
    await screenshot(page, 'data-importing-1280x800');
    await page.click('[data-testid="cancel-import"]');
    await page.waitForSelector('[data-testid="import-note"]');
    expect(await page.locator('[data-testid="import-note"]').innerText()).toContain('cancelled');
    await page.waitForFunction(() => !document.querySelector('[data-testid="import-progress"]'));
    await expect.poll(() => workerNames().filter((u) => u.includes('data.worker')).length, { timeout: 5000 }).toBe(0);
    expect(await page.locator('[data-testid="import-result"]').count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
    rmSync(file, { force: true });
  });

  it('fits a 390 px wide window', async () => {
    const { context, page, errors } = await openData(browser, PHONE);
    expect(await noHorizontalScroll(page)).toBeLessThanOrEqual(0);
    await importFolder(page, datasetPath('bad_inputs'));
    await screenshot(page, 'data-result-390x844');
    expect(await noHorizontalScroll(page)).toBeLessThanOrEqual(0);
    await save(page);
    await page.reload();
    await page.waitForSelector('[data-testid="dataset-row"]');
    await page.getByRole('button', { name: 'Delete bad_inputs' }).click();
    await screenshot(page, 'data-stored-390x844');
    expect(await noHorizontalScroll(page)).toBeLessThanOrEqual(0);
    expect(errors).toEqual([]);
    await context.close();
  });
});
