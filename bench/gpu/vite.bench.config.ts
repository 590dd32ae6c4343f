/**
 * The GPU benchmark's bundle (bench/gpu/pack.sh): bench/train.ts as one ES module with every dependency inlined
 * except `webgpu` (dawn.node travels beside it), so the box that runs it needs no node_modules and no network.
 */
import { defineConfig } from 'vite';
import base from '../../vite.config.ts';

export default defineConfig({
  plugins: base.plugins,
  logLevel: 'warn',
  ssr: { noExternal: true, external: ['webgpu'] },
  build: {
    ssr: true,
    outDir: process.env.BENCH_GPU_OUT ?? 'bench/gpu/out/app',
    target: 'node20',
    emptyOutDir: true,
    sourcemap: false,
    rollupOptions: {
      input: { 'bench-train': 'bench/train.ts' },
      external: ['webgpu'],
      output: { entryFileNames: '[name].js', codeSplitting: false },
    },
  },
});
