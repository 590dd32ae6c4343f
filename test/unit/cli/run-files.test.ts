/** cli train's kept checkpoints (the newest, and the last N by step) and the tokenizer copied next to an adapter. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkpointName, copyTokenizer, writeCheckpoint } from '../../../src/cli/run-files.ts';
import { NodeFolderModelSource } from '../../../src/model/source-node.ts';

const tmp = mkdtempSync(join(tmpdir(), 'run-files-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('run files', () => {
  it('keeps the newest checkpoint and the last N in checkpoints/', async () => {
    const out = join(tmp, 'run');
    for (const step of [1, 2, 10, 11]) await writeCheckpoint(out, Uint8Array.of(step), step, 3);
    expect(readdirSync(join(out, 'checkpoints')).sort()).toEqual([2, 10, 11].map(checkpointName));
    expect([...readFileSync(join(out, 'checkpoint.safetensors'))]).toEqual([11]);
    expect([...readFileSync(join(out, 'checkpoints', checkpointName(10)))]).toEqual([10]);
    const only = join(tmp, 'only-newest');
    await writeCheckpoint(only, Uint8Array.of(1), 1, 0);
    expect(readdirSync(only)).toEqual(['checkpoint.safetensors']);
  });

  it('copies the tokenizer files the model folder has', async () => {
    const model = join(tmp, 'model');
    const out = join(tmp, 'adapter');
    await writeCheckpoint(model, Uint8Array.of(0), 0, 0); // creates the folder
    writeFileSync(join(model, 'config.json'), '{}');
    writeFileSync(join(model, 'tokenizer.json'), '{"model":{}}');
    writeFileSync(join(model, 'tokenizer_config.json'), '{"chat_template":"x"}');
    await writeCheckpoint(out, Uint8Array.of(0), 0, 0);
    const copied = await copyTokenizer(await NodeFolderModelSource.open(model), out);
    expect(copied).toEqual(['tokenizer.json', 'tokenizer_config.json']);
    expect(readFileSync(join(out, 'tokenizer.json'), 'utf8')).toBe('{"model":{}}');
  });
});
