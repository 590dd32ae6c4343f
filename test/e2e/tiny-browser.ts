/**
 * The setup several browser tests share: a tiny random llama model folder in a fresh temporary directory and one
 * headless Chromium, made before the file's tests and removed after them. Read the fields inside tests (they are
 * set in beforeAll).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { type TinyModel, makeTinyModel } from '../fixtures/make-models.ts';
import { launchBrowser } from './browser.ts';

export interface TinyBrowser {
  /** The tiny model's folder, as a user would drop it. */
  modelDir: string;
  tiny: TinyModel;
  browser: Browser;
}

export function useTinyModelAndBrowser(name: string): Readonly<TinyBrowser> {
  const env = {} as TinyBrowser;
  let root = '';
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), `e2e-${name}-`));
    env.modelDir = join(root, 'tiny-llama');
    env.tiny = await makeTinyModel('llama', env.modelDir);
    env.browser = await launchBrowser();
  });
  afterAll(async () => {
    await env.browser?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });
  return env;
}
