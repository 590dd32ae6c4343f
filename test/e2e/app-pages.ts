/**
 * Every page of the app, for the browser tests that walk them all (page structure, narrow layout): how to open each
 * one and wait until its content is drawn, and a cheap way to fill the app first — a tiny local model dropped on the
 * Model page, the pre-split chat dataset saved on the Data page, and one finished run (with a checkpoint) stored as
 * the training module stores it.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { inject } from 'vitest';
import { type SectionId, SECTIONS } from '../../src/app/sections.ts';
import { fakeCheckpoint, fakeRun, qvModules } from '../fixtures/fake-run.ts';
import type { TinyModel } from '../fixtures/make-models.ts';
import { Rng } from '../harness/rng.ts';
import { importFolder, save } from './data-page.ts';
import { storeRuns } from './runs-db.ts';

export const PAGE_IDS: readonly SectionId[] = SECTIONS.map((s) => s.id);
const DATA = join(__dirname, '..', 'fixtures', 'datasets', 'chatml_presplit');

/** A selector that is on the page once its content (beyond the header) has been drawn. */
const READY: Record<SectionId, string> = {
  model: '[data-testid="cached-models"][data-state="ready"]',
  data: '[data-testid="no-datasets"], [data-testid="dataset-row"]',
  train: '[data-testid="new-run"]',
  try: '[data-testid="try-page"]',
  export: '[data-testid="export-page"]',
  gpu: '[data-testid="gpu-ready"], [data-testid="gpu-missing"]',
};

/** Opens a page by its URL and waits for its content. */
export async function openPage(page: Page, id: SectionId): Promise<void> {
  await page.goto(`${inject('baseUrl')}#/${id}`);
  await page.waitForSelector(READY[id], { timeout: 60_000 });
}

/**
 * A model, a dataset and a finished run in this browser context: `tiny` is the model folder at `modelDir`, copied in
 * as local/<folder name>.
 */
export async function fillApp(page: Page, modelDir: string, tiny: TinyModel): Promise<void> {
  await openPage(page, 'model');
  await page.setInputFiles('[data-testid="model-folder-input"]', modelDir);
  await page.waitForSelector('[data-testid="local-model-done"]', { timeout: 60_000 });
  await openPage(page, 'data');
  await importFolder(page, DATA);
  await save(page, 'sql-chat');
  const model = { repo: `local/${modelDir.split('/').pop()}`, revision: 'main' };
  const ckpt = fakeCheckpoint({
    rng: new Rng(11),
    step: 8,
    rank: 4,
    alpha: 8,
    modules: qvModules(tiny.dims),
    baseModel: model.repo,
    scale: 0.5,
  });
  const run = fakeRun('run-pages', 'A finished run with a rather long name', model, { rank: 4, alpha: 8, step: 8 });
  await storeRuns(page, [{ run, checkpoints: [{ step: 8, valLoss: 0.8, bytes: ckpt.bytes }], evals: [[8, 0.8]] }]);
  await page.reload(); // the app reads its runs when it starts
}
