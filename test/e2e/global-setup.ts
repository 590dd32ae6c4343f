/**
 * Browser-test setup: builds the app with Vite, serves the build on 127.0.0.1 (with the same
 * cross-origin-isolation and Content-Security-Policy headers as `vite preview`) and hands its URL to the tests.
 * The build's Hub origins (HUB_ORIGINS, its Content-Security-Policy's connect-src) are huggingface.co and one
 * loopback port reserved here, where the tests start their local Hub (test/fixtures/hub-server.ts).
 */
import { createServer } from 'node:net';
import { build, preview } from 'vite';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
    /** The port of 127.0.0.1 that the build may connect to, for the tests' local Hub. */
    hubPort: number;
  }
}

/** A free TCP port on 127.0.0.1 (bound and released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const hubPort = await freePort();
  process.env.HUB_ORIGINS = `https://huggingface.co,http://127.0.0.1:${hubPort}`;
  await build({ configFile: 'vite.config.ts', logLevel: 'warn', build: { outDir: 'dist', emptyOutDir: true } });
  const server = await preview({
    configFile: 'vite.config.ts',
    logLevel: 'warn',
    preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false },
  });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview did not report a local URL');
  project.provide('baseUrl', url);
  project.provide('hubPort', hubPort);
  return async () => {
    await server.close();
  };
}
