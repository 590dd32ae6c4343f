/**
 * A model folder from disk in Chromium: a folder that is not a model is refused with what is missing; a tiny model
 * folder dropped on the Model page is copied into the browser's cache as local/<name> (and opens from there); then
 * "Try it" answers with the base model only (no run), the text streaming in token by token.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MemoryByteSource } from '../../src/formats/byte-source.ts';
import { readPeftAdapter } from '../../src/formats/peft.ts';
import { EXPORT_FORMATS } from '../../src/train/export-formats.ts';
import { readSafetensorsHeader, readSafetensorsTensor, tensorBytesToF32 } from '../../src/formats/safetensors.ts';
import { fakeCheckpoint, fakeRun, qvModules } from '../fixtures/fake-run.ts';
import { type TinyModel, makeTinyModel } from '../fixtures/make-models.ts';
import { Rng } from '../harness/rng.ts';
import { launchBrowser, screenshot, watchErrors } from './browser.ts';
import { PHONE, dragFromDisk, noHorizontalScroll } from './data-page.ts';
import { storeRuns } from './runs-db.ts';

let root: string;
let tiny: TinyModel;
let modelDir: string;
let notModelDir: string;
let browser: Browser;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'e2e-local-model-'));
  modelDir = join(root, 'tiny-llama');
  tiny = await makeTinyModel('llama', modelDir);
  await writeFile(join(modelDir, 'README.md'), '# a tiny random llama\n'); // not a model file: left out of the cache
  notModelDir = join(root, 'just-a-tokenizer');
  await mkdir(notModelDir);
  await writeFile(join(notModelDir, 'tokenizer.json'), '{}');
  await writeFile(join(notModelDir, 'notes.txt'), 'no weights here');
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await rm(root, { recursive: true, force: true });
});

describe('a local model folder, then Try it', () => {
  it('refuses a folder without weights, copies a dropped model into the cache, and streams a base-model answer', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${inject('baseUrl')}#/model`);
    await page.waitForSelector('[data-testid="local-model"]');
    await page.waitForSelector('[data-testid="cached-models"] >> text=None yet');
    await screenshot(page, 'local-model-empty');

    // The picker buttons are labelled and reachable with the keyboard; the folder input picks whole folders.
    const chooseFolder = page.locator('[data-testid="local-model"]').getByRole('button', { name: 'Choose folder' });
    await chooseFolder.focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Choose files');
    expect(
      await page
        .locator('[data-testid="model-folder-input"]')
        .evaluate((el) => (el as HTMLInputElement).webkitdirectory),
    ).toBe(true);

    // Not a model: refused with what is missing, nothing cached.
    await page.setInputFiles('[data-testid="model-folder-input"]', notModelDir);
    const refusal = page.locator('[data-testid="local-model-error"]');
    await refusal.waitFor();
    expect(await refusal.innerText()).toMatch(
      /just-a-tokenizer has no model weights: expected config\.json with model\.safetensors.*Drop \(or choose\) the folder/s,
    );
    await screenshot(page, 'local-model-refused');
    expect(await page.locator('[data-testid="cached-row"]').count()).toBe(0);

    // A real folder drag-and-drop from disk.
    await dragFromDisk(page, '[data-testid="local-model-drop"]', [modelDir]);
    const done = page.locator('[data-testid="local-model-done"]');
    await done.waitFor({ timeout: 60_000 });
    expect(await done.innerText()).toMatch(/Copied as local\/tiny-llama: 5 files/);
    const row = page.locator('[data-testid="cached-row"]', { hasText: 'local/tiny-llama' });
    await row.waitFor();
    await row.getByRole('button', { name: 'Open' }).click();
    await expect
      .poll(async () => page.locator('[data-testid="cached-detail"]').innerText(), { timeout: 60_000 })
      .toMatch(/llama, .* parameters, tokenizer included; loaded onto the GPU: \d+ tensors/);
    await screenshot(page, 'local-model-imported');
    // The cache holds what the model needs (not the README), with the download manifest.
    const cached = await page.evaluate(async () => {
      let dir = await navigator.storage.getDirectory();
      for (const p of ['models', 'local--tiny-llama', 'main']) dir = await dir.getDirectoryHandle(p);
      const names: string[] = [];
      for await (const key of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(key);
      return names.sort();
    });
    expect(cached).toEqual([
      'config.json',
      'generation_config.json',
      'manifest.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);

    // Try it: the base model only, streaming.
    await page.goto(`${inject('baseUrl')}#/try`);
    const modelSelect = page.locator('[data-testid="try-model"]');
    await expect.poll(async () => modelSelect.inputValue()).toBe('local/tiny-llama@main');
    await expect.poll(async () => page.locator('[data-testid="try-run"]').inputValue()).toBe('');
    await page.getByLabel('System prompt').fill('You answer in one line.');
    await page.getByLabel('Prompt', { exact: true }).fill('Say hello to the tiny model.');
    await page.getByLabel('Max new tokens').fill('48');
    await page.getByLabel('Temperature').fill('0');
    await screenshot(page, 'try-ready');
    // Every text the base column shows, as it changes.
    await page.evaluate(() => {
      const el = document.querySelector('[data-testid="answer-base-text"]')!;
      const seen: string[] = [];
      (window as unknown as { seenTexts: string[] }).seenTexts = seen;
      new MutationObserver(() => {
        const t = el.querySelector('.answer-text')?.textContent ?? '';
        if (seen.at(-1) !== t) seen.push(t);
      }).observe(el, { subtree: true, childList: true, characterData: true });
    });
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.waitForSelector('[data-testid="answer-base"][data-status="streaming"]', { timeout: 120_000 });
    await screenshot(page, 'try-streaming');
    await page.waitForSelector('[data-testid="answer-base"][data-status="done"]', { timeout: 240_000 });
    await expect.poll(async () => page.getByRole('button', { name: 'Generate' }).isEnabled()).toBe(true);
    await screenshot(page, 'try-done');

    const finalText = await page.locator('[data-testid="answer-base-text"] .answer-text').innerText();
    const tokens = Number(await page.locator('[data-testid="answer-base-tokens"]').innerText());
    const seen = await page.evaluate(() =>
      (window as unknown as { seenTexts: string[] }).seenTexts.filter((t) => t !== ''),
    );
    expect(tokens).toBeGreaterThan(1);
    expect(finalText.length).toBeGreaterThan(0);
    // Streamed: several growing texts were shown before the last one.
    expect(seen.length).toBeGreaterThan(2);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.length).toBeGreaterThanOrEqual(seen[i - 1]!.length);
    expect(await page.locator('[data-testid="answer-base-stats"]').innerText()).toMatch(/tokens\/s/);
    // No run: the adapter column waits for one.
    expect(await page.locator('[data-testid="answer-adapter"]').getAttribute('data-status')).toBe('idle');
    expect(await page.locator('[data-testid="answer-adapter-text"]').innerText()).toMatch(/Pick a run/);
    expect(await page.locator('[data-testid="try-error"]').count()).toBe(0);

    // Greedy answers repeat: a second run (the model stays loaded) gives the same text.
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.waitForSelector('[data-testid="answer-base"][data-status="done"]', { timeout: 240_000 });
    await expect.poll(async () => page.getByRole('button', { name: 'Generate' }).isEnabled()).toBe(true);
    expect(await page.locator('[data-testid="answer-base-text"] .answer-text').innerText()).toBe(finalText);

    // Narrow screens: one column, nothing wider than the viewport.
    await page.setViewportSize(PHONE);
    await screenshot(page, 'try-narrow');
    expect(await noHorizontalScroll(page)).toBeLessThanOrEqual(0);
    await page.goto(`${inject('baseUrl')}#/model`);
    await page.waitForSelector('[data-testid="cached-row"]');
    await screenshot(page, 'local-model-narrow');
    // The local-folder card fits (the cached-models table beside it is another component's).
    const card = await page
      .locator('[data-testid="local-model"]')
      .evaluate((el) => ({ right: el.getBoundingClientRect().right, overflow: el.scrollWidth - el.clientWidth }));
    expect(card.overflow).toBeLessThanOrEqual(0);
    expect(card.right).toBeLessThanOrEqual(PHONE.width);

    expect(errors.filter((e) => !/Failed to load resource/.test(e))).toEqual([]);
    await context.close();
  });

  it('answers with a run’s adapter side by side, refuses an adapter of another shape, and exports a run as a zip or into a folder', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${inject('baseUrl')}#/model`);
    await page.setInputFiles('[data-testid="model-folder-input"]', modelDir);
    await page.locator('[data-testid="local-model-done"]').waitFor({ timeout: 60_000 });

    // Two runs as training stores them: one whose adapter fits the model, one trained on another shape.
    const model = { repo: 'local/tiny-llama', revision: 'main' };
    const rng = new Rng(7);
    const fits = qvModules(tiny.dims);
    const good = fakeRun('run-good', 'Greeter', model, { rank: 4, alpha: 8, step: 40 });
    const best = fakeCheckpoint({ rng, step: 20, rank: 4, alpha: 8, modules: fits, baseModel: model.repo, scale: 0.5 });
    const latest = fakeCheckpoint({
      rng,
      step: 40,
      rank: 4,
      alpha: 8,
      modules: fits,
      baseModel: model.repo,
      scale: 0.5,
    });
    const wrong = fakeRun('run-wrong', 'Other shape', model, { rank: 4, alpha: 8, step: 10 });
    const wrongCkpt = fakeCheckpoint({
      rng,
      step: 10,
      rank: 4,
      alpha: 8,
      modules: fits.map((m) => ({ ...m, K: m.K / 2 })),
      baseModel: 'tiny/other',
      scale: 0.5,
    });
    await page.goto(`${inject('baseUrl')}#/try`);
    await expect.poll(async () => page.locator('[data-testid="try-model"]').inputValue()).toBe('local/tiny-llama@main');
    await storeRuns(page, [
      {
        run: good,
        checkpoints: [
          { step: 20, valLoss: 0.7, bytes: best.bytes },
          { step: 40, valLoss: 0.9, bytes: latest.bytes },
        ],
        evals: [
          [20, 0.7],
          [40, 0.9],
        ],
      },
      { run: wrong, checkpoints: [{ step: 10, valLoss: null, bytes: wrongCkpt.bytes }], evals: [] },
    ]);
    await page.reload();

    const runSelect = page.locator('[data-testid="try-run"]');
    await expect.poll(async () => runSelect.locator('option').allInnerTexts()).toContain('Greeter · step 40/40 · done');
    await runSelect.selectOption('run-good');
    await page.getByLabel('Prompt', { exact: true }).fill('Say hello.');
    await page.getByLabel('Max new tokens').fill('32');
    await page.getByLabel('Temperature').fill('0');
    // Token counts of both sides, every time either changes.
    await page.evaluate(() => {
      const read = (side: string) =>
        Number(document.querySelector(`[data-testid="answer-${side}-tokens"]`)?.textContent ?? 0);
      const seen: [number, number][] = [];
      (window as unknown as { seenCounts: [number, number][] }).seenCounts = seen;
      new MutationObserver(() => {
        const now: [number, number] = [read('base'), read('adapter')];
        const last = seen.at(-1);
        if (!last || last[0] !== now[0] || last[1] !== now[1]) seen.push(now);
      }).observe(document.querySelector('.try-columns')!, { subtree: true, childList: true, characterData: true });
    });
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.waitForSelector('[data-testid="answer-adapter"][data-status="streaming"]', { timeout: 120_000 });
    await screenshot(page, 'try-adapter-streaming');
    await page.waitForSelector('[data-testid="answer-base"][data-status="done"]', { timeout: 240_000 });
    await page.waitForSelector('[data-testid="answer-adapter"][data-status="done"]', { timeout: 240_000 });
    await expect.poll(async () => page.getByRole('button', { name: 'Generate' }).isEnabled()).toBe(true);
    await screenshot(page, 'try-adapter-done');
    const baseText = await page.locator('[data-testid="answer-base-text"] .answer-text').innerText();
    const adapterText = await page.locator('[data-testid="answer-adapter-text"] .answer-text').innerText();
    expect(baseText.length).toBeGreaterThan(0);
    expect(adapterText.length).toBeGreaterThan(0);
    expect(adapterText).not.toBe(baseText); // the adapter changes what the model says
    const counts = await page.evaluate(() => (window as unknown as { seenCounts: [number, number][] }).seenCounts);
    const finalBase = Number(await page.locator('[data-testid="answer-base-tokens"]').innerText());
    const finalAdapter = Number(await page.locator('[data-testid="answer-adapter-tokens"]').innerText());
    // Side by side: both answers were growing at the same time, not one after the other.
    expect(counts.some(([b, a]) => b > 0 && a > 0 && b < finalBase && a < finalAdapter)).toBe(true);
    expect(await page.locator('[data-testid="answer-adapter"] .answer-subtitle').innerText()).toBe('Greeter');

    // An adapter of another shape is refused, saying why and what to pick.
    await runSelect.selectOption('run-wrong');
    await page.getByRole('button', { name: 'Generate' }).click();
    const refusal = page.locator('[data-testid="try-error"]');
    await refusal.waitFor({ timeout: 60_000 });
    expect(await refusal.innerText()).toMatch(
      /The adapter of "Other shape" does not fit local\/tiny-llama: .*was it trained on another base model\?.*Pick "Base model only", or another run\./s,
    );
    await screenshot(page, 'try-adapter-mismatch');

    // Export: the best checkpoint as a zip.
    await page.goto(`${inject('baseUrl')}#/export`);
    await page.locator('#export-run').selectOption('run-good');
    const latestChoice = page.getByLabel(/Latest/);
    await latestChoice.waitFor();
    expect(await page.locator('label.choice', { hasText: 'Latest' }).innerText()).toMatch(
      /step 40, validation loss 0\.9000/,
    );
    expect(await page.locator('label.choice', { hasText: 'Best' }).innerText()).toMatch(
      /step 20, validation loss 0\.7000/,
    );
    // Every format of the registry is offered, and none is refused for this run.
    for (const format of EXPORT_FORMATS)
      expect(
        await page
          .getByRole('radio', { name: new RegExp(`^${format.label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) })
          .isEnabled(),
      ).toBe(true);
    await page.getByLabel(/^Best/).check();
    await screenshot(page, 'export-ready');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download .zip' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('Greeter-best-peft.zip');
    const zipPath = join(root, 'export.zip');
    await download.saveAs(zipPath);
    const entries = unzipSync(new Uint8Array(await readFile(zipPath)));
    expect(Object.keys(entries).sort()).toEqual([
      'Greeter-best-peft/README.md',
      'Greeter-best-peft/adapter_config.json',
      'Greeter-best-peft/adapter_model.safetensors',
    ]);
    const peft = await readPeftAdapter(
      new TextDecoder().decode(entries['Greeter-best-peft/adapter_config.json']),
      new MemoryByteSource(entries['Greeter-best-peft/adapter_model.safetensors']!),
    );
    const first = fits[0]!.path;
    expect(Array.from(peft.modules.get(first)!.B)).toEqual(Array.from(best.B.get(first)!));
    await page.locator('[data-testid="export-done"]').waitFor();
    expect(await page.locator('[data-testid="export-files"]').innerText()).toMatch(
      /Greeter-best-peft\/adapter_model\.safetensors/,
    );
    await screenshot(page, 'export-zip-done');

    // A GGUF LoRA in f16 for llama.cpp.
    await page.getByRole('radio', { name: /^llama\.cpp GGUF LoRA/ }).check();
    await page.getByLabel('Precision').selectOption('f16');
    const gguf = await downloadZip(page, 'Greeter-best-gguf.zip');
    expect(Object.keys(gguf).sort()).toEqual(['Greeter-best-gguf/README.md', 'Greeter-best-gguf/adapter.gguf']);
    expect(new TextDecoder().decode(gguf['Greeter-best-gguf/adapter.gguf']!.subarray(0, 4))).toBe('GGUF');

    // Merged weights: the cached base model with W + (alpha / r) · B @ A folded in (a small model, so a zip is fine).
    await page.getByRole('radio', { name: /^Merged model/ }).check();
    expect(await page.getByLabel('Precision').isDisabled()).toBe(true);
    expect(await page.locator('[data-testid="export-merged-note"]').innerText()).toMatch(
      /Writes a full copy of local\/tiny-llama \(about .*KiB\)/,
    );
    await screenshot(page, 'export-merged-ready');
    const merged = await downloadZip(page, 'Greeter-best-merged.zip');
    expect(Object.keys(merged)).toEqual(
      expect.arrayContaining([
        'Greeter-best-merged/config.json',
        'Greeter-best-merged/model.safetensors',
        'Greeter-best-merged/tokenizer.json',
        'Greeter-best-merged/README.md',
      ]),
    );
    const weights = new MemoryByteSource(merged['Greeter-best-merged/model.safetensors']!);
    const mergedHeader = await readSafetensorsHeader(weights);
    const q0 = mergedHeader.byName.get(`${first}.weight`)!;
    const got = tensorBytesToF32(q0.dtype, await readSafetensorsTensor(weights, q0));
    const base = tiny.tensors.find((t) => t.name === `${first}.weight`)!;
    const [M, K] = base.shape as [number, number];
    const A = best.A.get(first)!;
    const B = best.B.get(first)!;
    let worst = 0;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < K; j++) {
        let ba = 0;
        for (let r = 0; r < 4; r++) ba += B[i * 4 + r]! * A[r * K + j]!;
        worst = Math.max(worst, Math.abs(got[i * K + j]! - (base.values[i * K + j]! + (8 / 4) * ba)));
      }
    }
    expect(worst).toBeLessThan(1e-5);
    await screenshot(page, 'export-merged-done');
    await page.getByRole('radio', { name: /^PEFT/ }).check();
    await page.getByLabel('Precision').selectOption('f32');

    // Into a folder: the picker is stubbed with a folder of the origin's private file system.
    await page.evaluate(() => {
      (window as unknown as { showDirectoryPicker: () => Promise<FileSystemDirectoryHandle> }).showDirectoryPicker =
        async () => (await navigator.storage.getDirectory()).getDirectoryHandle('picked-exports', { create: true });
    });
    await page.getByLabel(/^Latest/).check();
    await page.getByRole('button', { name: 'Choose folder…' }).click();
    await expect
      .poll(async () => page.locator('[data-testid="export-done"] .ok-text').innerText())
      .toBe('Written to picked-exports/Greeter-peft.');
    const written = await page.evaluate(async () => {
      const dir = await (
        await (await navigator.storage.getDirectory()).getDirectoryHandle('picked-exports')
      ).getDirectoryHandle('Greeter-peft');
      const out: Record<string, number> = {};
      for await (const [name, h] of (
        dir as unknown as { entries(): AsyncIterable<[string, FileSystemFileHandle]> }
      ).entries())
        out[name] = (await h.getFile()).size;
      return out;
    });
    expect(Object.keys(written).sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors']);
    expect(written['adapter_model.safetensors']).toBe(
      entries['Greeter-best-peft/adapter_model.safetensors']!.byteLength,
    );
    await screenshot(page, 'export-folder-done');

    await page.setViewportSize(PHONE);
    await screenshot(page, 'export-narrow');
    expect(await noHorizontalScroll(page)).toBeLessThanOrEqual(0);

    expect(errors.filter((e) => !/Failed to load resource/.test(e))).toEqual([]);
    await context.close();
  });
});

/** Clicks "Download .zip", checks the file name and returns the zip's entries. */
async function downloadZip(page: Page, name: string): Promise<Record<string, Uint8Array>> {
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 120_000 }),
    page.getByRole('button', { name: 'Download .zip' }).click(),
  ]);
  expect(download.suggestedFilename()).toBe(name);
  const path = join(root, name);
  await download.saveAs(path);
  return unzipSync(new Uint8Array(await readFile(path)));
}
