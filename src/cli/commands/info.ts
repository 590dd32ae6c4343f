/** `npm run cli -- info [--no-cpu-fallback]`: the adapter, features and limits as JSON. */
import { acquireDevice } from '../../gpu/device.ts';
import { deviceInfo } from '../../gpu/info.ts';
import { nodeGpu, vulkanDriver } from '../../gpu/node.ts';
import type { CliCommand } from './types.ts';

export const command: CliCommand = {
  summary: 'print the WebGPU adapter, features and limits as JSON',
  async run(argv) {
    const gpu = await nodeGpu({ cpuFallback: !argv.includes('--no-cpu-fallback') });
    const ctx = await acquireDevice(gpu);
    const info = { ...deviceInfo(ctx, 'node'), vulkanDriver: vulkanDriver() };
    process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
    ctx.device.destroy();
    return 0;
  },
};
