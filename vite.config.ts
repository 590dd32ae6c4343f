import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';
import { contentSecurityPolicy } from './src/app/csp.ts';
import { parseHubOrigins } from './src/model/hub-origins.ts';

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

/** The Hub servers the built app may connect to: HUB_ORIGINS (comma-separated, https; default huggingface.co). */
const hubOrigins = parseHubOrigins(process.env.HUB_ORIGINS);

/**
 * The built index.html carries the Content-Security-Policy as a <meta> tag (src/app/csp.ts); `vite preview` also
 * sends it as a header, which covers the workers too. The dev server (`npm start`) has none: Vite's dev client
 * injects styles inline.
 */
function csp(): Plugin {
  return {
    name: 'content-security-policy',
    apply: 'build',
    // Right after <meta charset>, before anything it governs.
    transformIndexHtml(html) {
      const meta = `<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(hubOrigins, false)}" />`;
      const at = html.search(/<meta charset[^>]*>/i);
      if (at < 0) throw new Error('index.html has no <meta charset>: the Content-Security-Policy goes after it');
      const end = html.indexOf('>', at) + 1;
      return `${html.slice(0, end)}\n    ${meta}${html.slice(end)}`;
    },
    // The same headers as `vite preview`, for static hosts that read a _headers file (Netlify, Cloudflare Pages).
    generateBundle() {
      if (this.environment.name !== 'client') return;
      const headers = { ...isolation, 'Content-Security-Policy': contentSecurityPolicy(hubOrigins) };
      const lines = Object.entries(headers).map(([k, v]) => `  ${k}: ${v}`);
      this.emitFile({ type: 'asset', fileName: '_headers', source: `/*\n${lines.join('\n')}\n` });
    },
  };
}

/** `npm run test:seeds` (scripts/test-seeds.mjs): the random-seed sweep's runner repeats each test with fresh seeds. */
const seedSweep = process.env.TEST_SEED_SWEEP ? { runner: './test/harness/seed-runner.ts' } : {};

export default defineConfig({
  plugins: [wgsl(), csp()],
  define: { __HUB_ORIGINS__: JSON.stringify(hubOrigins) },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  server: { headers: isolation },
  preview: { headers: { ...isolation, 'Content-Security-Policy': contentSecurityPolicy(hubOrigins) } },
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
