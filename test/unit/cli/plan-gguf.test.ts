/** `cli plan` on a .gguf file counts each tensor in its own type: a Q4_K / Q6_K base is planned as stored. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { command } from '../../../src/cli/commands/plan.ts';
import { openCheckpoint } from '../../../src/model/checkpoint.ts';
import { NodeFolderModelSource } from '../../../src/model/source-node.ts';
import { makeTinyModel } from '../../fixtures/make-models.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('cli plan --model file.gguf', () => {
  it('counts K-quant weights at their stored size at --quant none', async () => {
    const root = await mkdtemp(join(tmpdir(), 'plan-gguf-'));
    dirs.push(root);
    const dims = { hidden: 256, intermediate: 512, layers: 1, heads: 4, kvHeads: 2, headDim: 64 };
    const m = await makeTinyModel('qwen2', join(root, 'm'), { dims, gguf: ['Q6_K'] });
    const file = join(m.dir, m.ggufFiles.Q6_K!);
    const ckpt = await openCheckpoint(await NodeFolderModelSource.open(file));
    let want = 0;
    for (const t of ckpt.tensors.values()) want += t.shape.length === 1 ? 4 * t.shape[0]! : t.bytes;
    await ckpt.close();
    let out = '';
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
    try {
      expect(await command.run(['--model', file, '--quant', 'none', '--seq', '16', '--rank', '4', '--json'])).toBe(0);
    } finally {
      write.mockRestore();
    }
    expect(JSON.parse(out).by_category.weights).toBe(want);
  }, 60_000);
});
