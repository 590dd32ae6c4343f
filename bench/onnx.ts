/**
 * `npm run bench:onnx` (and `npm run bench`): forward tokens/s of one model and one batch in onnxruntime-web
 * (WebGPU execution provider) and in our engine, in the same Chromium page, as a ratio. Timings live here, never in
 * the tests.
 *
 * The model is a random Llama-shaped one (safetensors, f32), exported with the app's ONNX writer (f32, the
 * adapter-free graph of docs/onnx.md); both are served to the page (bench/onnx/page.ts, built by Vite and served by
 * `vite preview` with the app's headers) from memory. Each side runs a full forward pass over B×T tokens (every
 * position's logits read back to the host) after one warm-up run; the median of `--trials` runs is reported.
 *
 *   npm run bench:onnx [-- --quick] [-- --trials N]
 */
import { join } from 'node:path';
import { build, preview } from 'vite';
import { writeSafetensors } from '../src/formats/safetensors-write.ts';
import { FilesModelSource } from '../src/model/source.ts';
import type { FileSink, SinkFile } from '../src/train/merge.ts';
import { exportOnnxModel } from '../src/train/onnx/export-onnx.ts';
import { launchBrowser } from '../test/e2e/browser.ts';
import { Rng } from '../test/harness/rng.ts';
import { tinyConfig, type TinyDims } from '../test/fixtures/tiny-model-specs.ts';
import { tinyWeights } from '../test/fixtures/tiny-model-weights.ts';
import { runBench } from './harness.ts';
import type { BenchConfig, BenchOutcome } from './onnx/page.ts';

interface Size {
  name: string;
  dims: TinyDims;
  vocab: number;
  B: number;
  T: number;
}

const FULL: Size = {
  name: 'llama C=512 L=8 V=8192',
  dims: { hidden: 512, intermediate: 1408, layers: 8, heads: 8, kvHeads: 4, headDim: 64 },
  vocab: 8192,
  B: 4,
  T: 128,
};
const QUICK: Size = {
  name: 'llama C=256 L=4 V=4096',
  dims: { hidden: 256, intermediate: 704, layers: 4, heads: 4, kvHeads: 2, headDim: 64 },
  vocab: 4096,
  B: 2,
  T: 64,
};

/** The model folder's files in memory: config.json and model.safetensors. */
function modelFiles(size: Size): Map<string, Uint8Array> {
  const ids = { vocab: size.vocab, bos: 1, eos: [2], generationEos: [2], tokenizerEos: 2, pad: 0 };
  const config = tinyConfig('llama', size.dims, ids, 'default', 'float32');
  const tensors = tinyWeights('llama', size.dims, size.vocab, 'default', new Rng(20260101));
  const st = writeSafetensors(
    tensors.map((t) => ({ name: t.name, dtype: 'F32' as const, shape: t.shape, data: t.values })),
    { format: 'pt' },
  );
  return new Map([
    ['config.json', new TextEncoder().encode(JSON.stringify(config))],
    ['model.safetensors', st],
  ]);
}

function memorySink(out: Map<string, Uint8Array>): FileSink {
  return {
    async open(name: string): Promise<SinkFile> {
      const chunks: Uint8Array[] = [];
      return {
        write: async (c) => void chunks.push(c.slice()),
        close: async () => void out.set(name, Buffer.concat(chunks)),
      };
    },
  };
}

async function main(argv: string[]): Promise<void> {
  const size = argv.includes('--quick') ? QUICK : FULL;
  const trialsAt = argv.indexOf('--trials');
  const trials = trialsAt >= 0 ? Math.max(1, Number(argv[trialsAt + 1])) : 5;
  const files = modelFiles(size);
  const exported = new Map<string, Uint8Array>();
  const source = new FilesModelSource(
    new Map([...files].map(([n, b]) => [n, new Blob([b as Uint8Array<ArrayBuffer>])])),
    'bench',
  );
  await exportOnnxModel(source, null, memorySink(exported), { variants: ['f32'], external: 'never' });

  const outDir = join('dist', 'bench-onnx');
  await build({
    configFile: 'vite.config.ts',
    logLevel: 'error',
    build: { outDir, emptyOutDir: true, rollupOptions: { input: { bench: 'bench/onnx/index.html' } } },
  });
  const server = await preview({
    configFile: 'vite.config.ts',
    logLevel: 'warn',
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false },
  });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview did not report a local URL');
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') process.stderr.write(`page: ${m.text()}\n`);
    });
    // The model files come from memory, on the page's own origin.
    const served = new Map<string, Uint8Array>([
      ...[...files].map(([n, b]) => [`model/${n}`, b] as const),
      ['model.onnx', exported.get('onnx/model.onnx')!],
    ]);
    await page.route('**/bench-files/**', (route) => {
      const name = new URL(route.request().url()).pathname.replace(/^\/bench-files\//, '');
      const body = served.get(name);
      return body ? route.fulfill({ status: 200, body: Buffer.from(body) }) : route.fulfill({ status: 404 });
    });
    await page.goto(new URL('bench/onnx/index.html', url).href);
    await page.waitForFunction(() => window.onnxBenchReady === true, null, { timeout: 60_000 });
    const cfg: BenchConfig = {
      files: {
        'config.json': '/bench-files/model/config.json',
        'model.safetensors': '/bench-files/model/model.safetensors',
      },
      onnx: '/bench-files/model.onnx',
      B: size.B,
      T: size.T,
      trials,
    };
    const r: BenchOutcome = await page.evaluate((c) => window.onnxBench.run(c), cfg);
    const ep = r.ort.ep === 'webgpu' ? 'WebGPU' : `WASM (${r.ort.fallbackReason})`;
    process.stdout.write(
      `onnx forward | ${size.name} | B=${size.B} T=${size.T} | onnxruntime-web ${ep} ${r.ort.tokensPerSec.toFixed(0)} tokens/s (${r.ort.medianMs.toFixed(1)} ms) | engine ${r.engine.tokensPerSec.toFixed(0)} tokens/s (${r.engine.medianMs.toFixed(1)} ms) | onnxruntime-web / engine ${(r.ort.tokensPerSec / r.engine.tokensPerSec).toFixed(2)} | max |Δlogit| ${r.maxAbsDiff.toExponential(1)} | ${r.adapter} | median of ${trials}\n`,
    );
  } finally {
    await browser.close();
    await server.close();
  }
}

runBench(main);
