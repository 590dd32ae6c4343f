/** Builds the Node CLI (`src/cli/main.ts`) into one ES module, `dist/cli/main.js`, with WGSL inlined. */
import { defineConfig } from 'vite';
import base from './vite.config.ts';

export default defineConfig({
  plugins: base.plugins,
  logLevel: 'warn',
  build: {
    ssr: 'src/cli/main.ts',
    outDir: 'dist/cli',
    target: 'node20',
    emptyOutDir: true,
    sourcemap: true,
    rollupOptions: { output: { entryFileNames: 'main.js' } },
  },
});
