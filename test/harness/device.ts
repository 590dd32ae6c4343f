/**
 * The GPU device fixture for kernel tests: one runtime per test file, in debug mode (every submit and
 * pipeline compilation runs inside error scopes, so a validation error fails the test at once).
 * Finding no adapter is a failure, never a skip: a GPU test cannot pass silently.
 */
import { afterAll } from 'vitest';
import { nodeGpu, vulkanDriver } from '../../src/gpu/node.ts';
import { GpuRuntime } from '../../src/gpu/runtime.ts';

let shared: Promise<GpuRuntime> | undefined;

export function testRuntime(): Promise<GpuRuntime> {
  shared ??= (async () => {
    const gpu = await nodeGpu({ cpuFallback: true });
    try {
      const rt = await GpuRuntime.create(gpu, { debug: true, label: 'test-device' });
      void rt.ctx.lost.then((err) => {
        if (!destroyed) console.error(`[gpu] ${err.message}`);
      });
      return rt;
    } catch (err) {
      throw new Error(
        `No WebGPU adapter for the GPU tests (Vulkan driver: ${vulkanDriver()}${process.env.CI ? ', CI=true' : ''}). ` +
          `Run them through \`npm test\`, which installs Debian's chromium (for SwiftShader) and libvulkan1. Cause: ${(err as Error).message}`,
        { cause: err },
      );
    }
  })();
  return shared;
}

let destroyed = false;

afterAll(async () => {
  if (!shared) return;
  const rt = await shared.catch(() => undefined);
  destroyed = true;
  rt?.destroy();
  shared = undefined;
});
