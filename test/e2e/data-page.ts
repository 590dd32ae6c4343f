/**
 * Page-level helpers for the Data-section browser tests: open the section, import through the
 * folder input, wait for a new result, read the counts shown, save, reload, a real folder
 * drag-and-drop through CDP, and the app's IndexedDB read with the raw API inside the page.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { inject } from 'vitest';
import type { ImportResult } from '../../src/data/import.ts';
import type { ChatRecord, DatasetMeta, DatasetRecord } from '../../src/schema/dataset.ts';
import { DB_NAME } from '../../src/storage/db.ts';
import { watchErrors } from './browser.ts';

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

export interface Opened {
  context: BrowserContext;
  page: Page;
  errors: string[];
}

export async function openData(browser: Browser, viewport = DESKTOP): Promise<Opened> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.goto(`${inject('baseUrl')}#/data`);
  await page.waitForSelector('[data-testid="no-datasets"], [data-testid="dataset-row"]', { timeout: 30_000 });
  return { context, page, errors };
}

export async function runs(page: Page): Promise<number> {
  return Number(await page.getAttribute('[data-testid="data-page"]', 'data-runs'));
}

/** Waits for the result of the import after `before` (a new result, not the one on screen). */
export async function waitForResult(page: Page, before: number, timeout = 60_000): Promise<void> {
  const sel = `[data-testid="import-result"][data-run="${before + 1}"], [data-testid="import-error"][data-run="${before + 1}"]`;
  await page.waitForSelector(sel, { timeout });
  const failed = page.locator('[data-testid="import-error"]');
  if (await failed.count()) throw new Error(`import failed in the page: ${await failed.innerText()}`);
}

export async function importFolder(page: Page, folder: string): Promise<void> {
  const before = await runs(page);
  await page.setInputFiles('[data-testid="folder-input"]', folder);
  await waitForResult(page, before);
}

export async function shownCounts(page: Page): Promise<Record<string, number>> {
  return page.$$eval('[data-testid="import-result"] [data-testid^="count-"]', (els) =>
    Object.fromEntries(
      els.map((e) => [e.getAttribute('data-testid')!.slice('count-'.length), Number(e.getAttribute('data-value'))]),
    ),
  );
}

export function expectedCounts(res: ImportResult): Record<string, number> {
  const c = res.counts;
  return {
    rows: c.rowsRead,
    records: c.records,
    duplicates: c.duplicates,
    problems: c.problems,
    train: c.train,
    valid: c.valid,
    test: c.test,
  };
}

export async function save(page: Page, name?: string): Promise<void> {
  if (name !== undefined) await page.fill('[data-testid="dataset-name"]', name);
  await page.click('[data-testid="save-dataset"]');
  await page.waitForSelector('[data-testid="saved"], [data-testid="save-error"]');
  const failed = page.locator('[data-testid="save-error"]');
  if (await failed.count()) throw new Error(`save failed: ${await failed.innerText()}`);
}

export async function listedNames(page: Page): Promise<string[]> {
  return page.$$eval('[data-testid="dataset-row"]', (els) => els.map((e) => e.getAttribute('data-name')!));
}

export async function reloadAndList(page: Page): Promise<string[]> {
  await page.reload();
  await page.waitForSelector('[data-testid="dataset-row"]', { timeout: 30_000 });
  return listedNames(page);
}

export async function noHorizontalScroll(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

export const messagesOf = (records: DatasetRecord[]) => records.map((r) => (r as ChatRecord).messages);

/**
 * Drags files and folders from disk onto the element, the way a user drags them from a file
 * manager: Chromium builds real DataTransferItems whose webkitGetAsEntry() gives directory entries.
 */
export async function dragFromDisk(page: Page, selector: string, paths: string[]): Promise<void> {
  const box = await page.locator(selector).boundingBox();
  if (!box) throw new Error(`${selector} is not visible`);
  const cdp = await page.context().newCDPSession(page);
  const at = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  const data = { items: [], files: paths, dragOperationsMask: 1 };
  for (const type of ['dragEnter', 'dragOver', 'drop'] as const)
    await cdp.send('Input.dispatchDragEvent', { type, ...at, data });
  await cdp.detach();
}

/** The dataset metadata stored in the app's IndexedDB (read with the raw API, in the page). */
export function storedMetas(page: Page): Promise<DatasetMeta[]> {
  return page.evaluate(
    (name) =>
      new Promise<DatasetMeta[]>((resolve, reject) => {
        const open = indexedDB.open(name);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const all = db.transaction('datasets').objectStore('datasets').getAll();
          all.onsuccess = () => {
            db.close();
            resolve(all.result as DatasetMeta[]);
          };
          all.onerror = () => reject(all.error);
        };
      }),
    DB_NAME,
  );
}

/** A stored dataset's records in order (its chunks, read in the page). */
export function storedRecords(page: Page, id: string): Promise<DatasetRecord[]> {
  return page.evaluate(
    ([name, datasetId]) =>
      new Promise<DatasetRecord[]>((resolve, reject) => {
        const open = indexedDB.open(name);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const all = db
            .transaction('datasetChunks')
            .objectStore('datasetChunks')
            .getAll(IDBKeyRange.bound([datasetId, 0], [datasetId, Number.MAX_SAFE_INTEGER]));
          all.onsuccess = () => {
            db.close();
            const chunks = all.result as { index: number; records: DatasetRecord[] }[];
            resolve(chunks.sort((a, b) => a.index - b.index).flatMap((c) => c.records));
          };
          all.onerror = () => reject(all.error);
        };
      }),
    [DB_NAME, id] as const,
  );
}
