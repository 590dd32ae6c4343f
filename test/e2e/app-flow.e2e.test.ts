/**
 * The whole app in Chromium, as a user goes through it: download a tiny model from the local Hub-like server (progress
 * visible), drop a dataset folder, start training with a preset shortened to a few dozen steps, watch the loss chart
 * fill, reload the page mid-run and see the run resume from its checkpoint, try a prompt (base and adapter side by
 * side), export the adapter as a zip (every request of it to the app's origin or the Hub, under the app's
 * Content-Security-Policy) — and check that its adapter_model.safetensors holds the same keys, shapes and
 * (within the trainer's tolerance) values as what `cli train` writes for the same seed and settings.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { parseModelConfig } from '../../src/model/config.ts';
import { emptyCache, runStep } from '../fixtures/onnx-run.ts';
import { unzipSync } from 'fflate';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MemoryByteSource } from '../../src/formats/byte-source.ts';
import { readSafetensorsHeader, readSafetensorsTensor, tensorBytesToF32 } from '../../src/formats/safetensors.ts';
import { type Hub, startHub } from '../fixtures/hub-server.ts';
import { makeTinyModelZoo } from '../fixtures/make-models.ts';
import { TOLERANCES } from '../harness/tolerances.ts';
import { launchBrowser, recordNetwork, screenshot, watchErrors } from './browser.ts';
import { DESKTOP, PHONE, importFolder, noHorizontalScroll, save } from './data-page.ts';

const DATA = join(__dirname, '..', 'fixtures', 'datasets', 'chatml_presplit');
const STEPS = 24;
/** The preset and the fields the test changes, in the form and as `cli train` flags. */
const FORM: Record<string, string> = {
  steps: String(STEPS),
  microBatch: '2',
  gradAccum: '1',
  maxLength: '256',
  evalEvery: '8',
  saveEvery: '2',
  seed: '7',
};
const CLI_FLAGS = [
  '--preset',
  'dot-qlora',
  '--steps',
  String(STEPS),
  '--batch',
  '2',
  '--grad-accum',
  '1',
  '--max-length',
  '256',
  '--eval-every',
  '8',
  '--save-every',
  '2',
  '--seed',
  '7',
  '--quant',
  'none',
  '--samples',
  '1',
  '--sample-tokens',
  '8',
];

let root: string;
let hub: Hub;
let browser: Browser;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'e2e-flow-'));
  await makeTinyModelZoo(root, ['tiny/llama']);
  hub = await startHub(root, inject('hubPort'));
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await hub?.close();
  await rm(root, { recursive: true, force: true });
});

async function stepOf(page: Page): Promise<number> {
  return Number(await page.getAttribute('[data-testid="run-panel"]', 'data-step'));
}

async function tensors(bytes: Uint8Array): Promise<Map<string, { shape: number[]; values: Float32Array }>> {
  const src = new MemoryByteSource(bytes);
  const header = await readSafetensorsHeader(src, 'adapter');
  const out = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const t of header.tensors)
    out.set(t.name, { shape: t.shape, values: tensorBytesToF32(t.dtype, await readSafetensorsTensor(src, t)) });
  return out;
}

describe('the app from model to exported adapter', () => {
  it(
    'downloads, imports, trains with live charts, resumes after a reload, tries a prompt and exports what cli train writes',
    { timeout: 900_000 },
    async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
      const net = recordNetwork(context);
      const page = await context.newPage();
      const errors = watchErrors(page);

      // Model: download from the local Hub with visible progress.
      await page.goto(`${inject('baseUrl')}#/model`);
      await page.locator('summary', { hasText: 'Hub address' }).click();
      await page.locator('input[name="hub"]').fill(hub.baseUrl);
      await page.locator('input[name="repo"]').fill('tiny/llama');
      await page.getByRole('button', { name: 'Look up' }).click();
      await page.waitForSelector('[data-testid="download-panel"]');
      hub.setHooks({ throttleBytesPerSec: 2_000_000 });
      await page.getByRole('button', { name: 'Download' }).click();
      await page.waitForSelector('[data-testid="download-progress"]');
      await page.waitForSelector('[data-testid="download-done"]', { timeout: 60_000 });
      hub.setHooks({ throttleBytesPerSec: null });

      // Data: the pre-split chat folder, saved in the browser.
      await page.goto(`${inject('baseUrl')}#/data`);
      await page.waitForSelector('[data-testid="no-datasets"], [data-testid="dataset-row"]', { timeout: 30_000 });
      await importFolder(page, DATA);
      await save(page, 'sql-chat');

      // Train: a preset, shortened; the model and dataset are the only ones, so they are preselected.
      await page.goto(`${inject('baseUrl')}#/train`);
      await page.waitForSelector('[data-testid="new-run"]');
      await expect.poll(() => page.locator('#run-model').inputValue()).toBe('tiny/llama@main');
      await expect
        .poll(async () => (await page.locator('#run-dataset option:checked').innerText()).startsWith('sql-chat'))
        .toBe(true);
      await page.selectOption('#run-preset', 'dot-qlora');
      await page.click('[data-testid="form-mode-advanced"]');
      for (const [field, value] of Object.entries(FORM)) await page.fill(`#cfg-${field}`, value);
      await page.selectOption('#cfg-base', 'none');
      await page.fill('#run-samples', '1');
      await screenshot(page, 'train-setup');
      await page.click('[data-testid="start-run"]');
      await page.waitForSelector('[data-testid="run-panel"][data-status="running"]', { timeout: 60_000 });
      await expect.poll(() => stepOf(page), { timeout: 120_000 }).toBeGreaterThanOrEqual(4);
      const chartPoints = Number(await page.getAttribute('[data-testid="loss-chart"]', 'data-points'));
      expect(chartPoints).toBeGreaterThanOrEqual(4);
      await screenshot(page, 'train-running');

      // Reload mid-run: the run resumes by itself from its newest checkpoint (every 2 steps) and finishes.
      const before = await stepOf(page);
      expect(before).toBeLessThan(STEPS);
      await page.reload();
      await page.waitForSelector('[data-testid="resumed-note"]', { timeout: 60_000 });
      await page.waitForSelector('[data-testid="run-panel"][data-status="running"]', { timeout: 60_000 });
      await screenshot(page, 'train-resumed');
      await page.waitForSelector('[data-testid="run-panel"][data-status="done"]', { timeout: 240_000 });
      expect(await stepOf(page)).toBe(STEPS);
      // One point per step in the chart: the steps after the checkpoint were recomputed, not duplicated.
      await expect
        .poll(async () => Number(await page.getAttribute('[data-testid="loss-chart"]', 'data-points')))
        .toBe(STEPS);
      await page.waitForSelector('[data-testid="samples"]');
      await screenshot(page, 'train-done');
      // A narrow window: everything reflows, nothing scrolls sideways.
      await page.setViewportSize(PHONE);
      await expect.poll(() => noHorizontalScroll(page)).toBeLessThanOrEqual(0);
      await screenshot(page, 'train-narrow');
      await page.setViewportSize(DESKTOP);

      // Try it: base and adapter answers side by side.
      await page.goto(`${inject('baseUrl')}#/try`);
      await page.waitForSelector('[data-testid="try-page"]');
      await page.fill('[data-testid="try-prompt"]', 'List the customers from Oslo.');
      await page.click('[data-testid="try-generate"]');
      await page.waitForSelector('[data-testid="answer-base"][data-status="done"]', { timeout: 120_000 });
      await page.waitForSelector('[data-testid="answer-adapter"][data-status="done"]', { timeout: 120_000 });
      expect(Number(await page.locator('[data-testid="answer-base-tokens"]').innerText())).toBeGreaterThan(0);
      expect(Number(await page.locator('[data-testid="answer-adapter-tokens"]').innerText())).toBeGreaterThan(0);
      await screenshot(page, 'try-side-by-side');

      // Export: PEFT as a zip (the folder picker cannot be driven headless).
      await page.goto(`${inject('baseUrl')}#/export`);
      await page.waitForSelector('[data-testid="export-page"]');
      const download = page.waitForEvent('download', { timeout: 60_000 });
      await page.click('[data-testid="export-zip"]');
      const zipPath = await (await download).path();
      await page.waitForSelector('[data-testid="export-files"]');
      await screenshot(page, 'export-done');
      const files = unzipSync(new Uint8Array(await readFile(zipPath!)));
      const names = Object.keys(files).map((n) => n.split('/').pop());
      expect(names).toEqual(expect.arrayContaining(['adapter_model.safetensors', 'adapter_config.json', 'README.md']));
      const fromApp = await tensors(Object.entries(files).find(([n]) => n.endsWith('adapter_model.safetensors'))![1]);

      // Export: ONNX (q4 and f32) as a zip; onnxruntime runs both, and the page shows the transformers.js snippet.
      await page.click('[data-testid="format-onnx"]');
      await page.waitForSelector('[data-testid="onnx-snippet"]');
      await page.click('[data-testid="onnx-variant-f32"]');
      const onnxDownload = page.waitForEvent('download', { timeout: 120_000 });
      await page.click('[data-testid="export-zip"]');
      const onnxZip = unzipSync(new Uint8Array(await readFile((await (await onnxDownload).path())!)));
      await screenshot(page, 'export-onnx-done');
      const byName = (suffix: string) => Object.entries(onnxZip).find(([n]) => n.endsWith(suffix))?.[1];
      const onnxConfig = JSON.parse(new TextDecoder().decode(byName('/config.json')!));
      expect(onnxConfig['transformers.js_config'].dtype).toBe('q4');
      expect(byName('/tokenizer.json')).toBeDefined();
      for (const file of ['onnx/model.onnx', 'onnx/model_q4.onnx']) {
        const session = await ort.InferenceSession.create(byName(`/${file}`)!);
        const d = parseModelConfig(onnxConfig);
        const run = await runStep(session, [1, 2, 3], 0, emptyCache(d, 1));
        expect(run.logits.length).toBe(3 * d.vocab);
        expect(run.logits.every(Number.isFinite)).toBe(true);
        await session.release();
      }

      // The same run with cli train, same seed and settings.
      const { command: train } = await import('../../src/cli/commands/train.ts');
      const out = join(root, 'cli-adapter');
      expect(await train.run(['--model', join(root, 'tiny/llama'), '--data', DATA, '--out', out, ...CLI_FLAGS])).toBe(
        0,
      );
      const fromCli = await tensors(new Uint8Array(await readFile(join(out, 'adapter_model.safetensors'))));
      expect([...fromApp.keys()].sort()).toEqual([...fromCli.keys()].sort());
      const tol = TOLERANCES.trainer_f32;
      for (const [name, t] of fromCli) {
        const a = fromApp.get(name)!;
        expect(a.shape, name).toEqual(t.shape);
        let worst = 0;
        for (let i = 0; i < t.values.length; i++)
          worst = Math.max(
            worst,
            Math.abs(a.values[i]! - t.values[i]!) - (tol.atol + tol.rtol * Math.abs(t.values[i]!)),
          );
        expect(worst, `${name}: worst excess over atol + rtol·|cli|`).toBeLessThanOrEqual(0);
      }
      // Training moved the adapters (B starts at zero).
      expect([...fromCli.entries()].some(([n, t]) => n.includes('lora_B') && t.values.some((v) => v !== 0))).toBe(true);
      const config = JSON.parse(
        new TextDecoder().decode(Object.entries(files).find(([n]) => n.endsWith('adapter_config.json'))![1]),
      );
      const cliConfig = JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8'));
      // The base model is named by its Hub id in the app and by its folder in the CLI; every other field is equal.
      expect(config.base_model_name_or_path).toBe('tiny/llama');
      expect({ ...config, base_model_name_or_path: null }).toEqual({ ...cliConfig, base_model_name_or_path: null });
      expect(errors.filter((e) => !/Failed to load resource/.test(e))).toEqual([]);
      // Every request of the flow, from the page and its workers, went to the app's origin or the Hub; none was
      // refused by the Content-Security-Policy.
      expect(net.urls.length).toBeGreaterThan(10);
      expect(net.outside([new URL(inject('baseUrl')).origin, hub.baseUrl])).toEqual([]);
      expect(net.violations).toEqual([]);
      await context.close();
    },
  );
});
