/**
 * Builds the Node entries into ES modules under dist/cli/, with WGSL inlined:
 *   main.js           the CLI (`npm run cli -- …`)
 *   bench-kernels.js  the kernel benchmark (`npm run bench:kernels`)
 *   bench-train.js    the training benchmark (`npm run bench:train`)
 *   bench-import.js   the dataset import benchmark (`npm run bench:import`)
 *   bench-onnx.js     onnxruntime-web vs the engine in Chromium (`npm run bench:onnx`, `npm run bench`)
 *   fuzz.js           the fuzzer (`npm run fuzz`, test/fuzz/main.ts)
 */
import { defineConfig } from 'vite';
import base from './vite.config.ts';

export default defineConfig({
  plugins: base.plugins,
  logLevel: 'warn',
  build: {
    ssr: true,
    outDir: 'dist/cli',
    target: 'node20',
    emptyOutDir: true,
    sourcemap: true,
    rollupOptions: {
      input: {
        main: 'src/cli/main.ts',
        'bench-kernels': 'bench/kernels.ts',
        'bench-train': 'bench/train.ts',
        'bench-import': 'bench/import.ts',
        'bench-onnx': 'bench/onnx.ts',
        fuzz: 'test/fuzz/main.ts',
      },
      output: { entryFileNames: '[name].js' },
    },
  },
});
