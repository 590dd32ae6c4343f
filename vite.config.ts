import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';

/** Import `shaders/*.wgsl` as a plain string: `import src from '../../shaders/matmul.wgsl'`. */
function wgsl(): Plugin {
  return {
    name: 'wgsl-as-text',
    transform(code, id) {
      if (!id.endsWith('.wgsl')) return null;
      return { code: `export default ${JSON.stringify(code)};`, map: null };
    },
  };
}

/** Cross-origin isolation: SharedArrayBuffer and multi-threaded WASM (onnxruntime-web, clingo) need it. */
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** `npm run test:seeds` (scripts/test-seeds.mjs): the random-seed sweep's runner repeats each test with fresh seeds. */
const seedSweep = process.env.TEST_SEED_SWEEP ? { runner: './test/harness/seed-runner.ts' } : {};

export default defineConfig({
  plugins: [wgsl()],
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  server: { headers: isolation },
  preview: { headers: isolation },
  worker: { format: 'es', plugins: () => [wgsl()] },
  build: { target: 'es2022', sourcemap: true },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          ...seedSweep,
        },
      },
      {
        extends: true,
        test: {
          name: 'gpu',
          include: ['test/kernels/**/*.test.ts'],
          environment: 'node',
          ...seedSweep,
          // SwiftShader already spreads each dispatch over every core; one file at a time.
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          // Real consumers as judges (transformers.js, real tokenizers; llama.cpp): `npm test`'s judges stage.
          name: 'judges',
          include: ['test/judges/**/*.test.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 180_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e.test.ts'],
          environment: 'node',
          globalSetup: ['test/e2e/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
