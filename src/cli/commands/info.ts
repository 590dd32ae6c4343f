/** `npm run cli -- info [--no-cpu-fallback]`: the adapter, features and limits as JSON. */
import { acquireDevice } from '../../gpu/device.ts';
import { deviceInfo } from '../../gpu/info.ts';
import { nodeGpu, vulkanDriver } from '../../gpu/node.ts';
import { parseArgs } from '../args.ts';
import type { CliCommand } from './types.ts';

export const command: CliCommand = {
  summary: 'print the WebGPU adapter, features and limits as JSON',
  async run(argv) {
    const args = parseArgs(argv, { values: [], booleans: ['no-cpu-fallback'] }, 'info');
    const gpu = await nodeGpu({ cpuFallback: !args.flags.has('no-cpu-fallback') });
    const ctx = await acquireDevice(gpu);
    const info = { ...deviceInfo(ctx, 'node'), vulkanDriver: vulkanDriver() };
    process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
    ctx.device.destroy();
    return 0;
  },
};
