/**
 * `cli export-run --run CONFIG --out DIR` on a tiny model folder and a fixture dataset: the folder's files, the
 * rows the import gives with the run's settings, the model id and layers, and the refusals (non-empty --out, changed
 * data, a folder without run.json).
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { command } from '../../../src/cli/commands/export-run.ts';
import { makeTinyModel } from '../../fixtures/make-models.ts';

let root: string;
let model: string;
const data = join(process.cwd(), 'test', 'fixtures', 'datasets', 'chatml_presplit');
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'export-run-'));
  model = join(root, 'model');
  await makeTinyModel('qwen2', model, {});
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function quiet<T>(f: () => Promise<T>): Promise<{ value: T; stdout: string }> {
  const write = process.stdout.write.bind(process.stdout);
  const errWrite = process.stderr.write.bind(process.stderr);
  let stdout = '';
  process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return { value: await f(), stdout };
  } finally {
    process.stdout.write = write;
    process.stderr.write = errWrite;
  }
}

describe('cli export-run', () => {
  it('writes the scale-out folder of a run described by a JSON file', async () => {
    const spec = join(root, 'run-spec.json');
    await writeFile(
      spec,
      JSON.stringify({
        model: 'model', // relative to the spec file
        modelId: 'Qwen/Qwen2.5-0.5B-Instruct',
        revision: 'main',
        data,
        preset: 'asp-coder',
        config: { lora: { rank: 4 }, maxLength: 256 },
        import: { mask: 'last' },
      }),
    );
    const out = join(root, 'out');
    const { value: code, stdout } = await quiet(() => command.run(['--run', spec, '--out', out]));
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as { counts: { train: number; valid: number }; model: string };
    expect(summary.model).toBe('Qwen/Qwen2.5-0.5B-Instruct');
    expect((await readdir(out)).sort()).toEqual(
      [
        'README.md',
        'accelerate_config.yaml',
        'axolotl.yaml',
        'lora-studio-run.json',
        'requirements.txt',
        'train.jsonl',
        'train.py',
        'valid.jsonl',
      ].sort(),
    );
    const lines = async (name: string) => (await readFile(join(out, name), 'utf8')).trim().split('\n');
    const fixtureTrain = (await readFile(join(data, 'train.jsonl'), 'utf8')).trim().split('\n');
    expect(summary.counts.train).toBe((await lines('train.jsonl')).length);
    expect(summary.counts.valid).toBe((await lines('valid.jsonl')).length);
    expect(summary.counts.train).toBeLessThanOrEqual(fixtureTrain.length);
    const script = await readFile(join(out, 'train.py'), 'utf8');
    expect(script).toContain('"r": 4,');
    expect(script).toContain('"lora_alpha": 160,'); // the preset's
    expect(script).toContain('"max_length": 256,');
    expect(script).toContain('"mask": "last",');
    // the tiny model has 3 layers: asp-coder's top 16 are all of them
    expect(script).toContain('"layers_to_transform": [0, 1, 2],');
    const facts = JSON.parse(await readFile(join(out, 'lora-studio-run.json'), 'utf8')) as {
      model: { id: string; revision: string };
    };
    expect(facts.model).toEqual({ id: 'Qwen/Qwen2.5-0.5B-Instruct', revision: 'main' });

    await expect(quiet(() => command.run(['--run', spec, '--out', out]))).rejects.toThrow(/is not empty/);
    // Never into what the run reads (the data folder: its train.jsonl would be replaced), nor around it.
    for (const inside of [data, join(root, 'model'), root])
      await expect(quiet(() => command.run(['--run', spec, '--out', inside]))).rejects.toThrow(/the data|the model/);
  });

  it('refuses a folder without run.json and a run whose data changed', async () => {
    const empty = join(root, 'no-run');
    await mkdir(empty);
    await expect(command.run(['--run', empty, '--out', join(root, 'x')])).rejects.toThrow(/has no run\.json/);
    const dir = join(root, 'changed');
    await mkdir(dir);
    await writeFile(join(dir, 'run.json'), JSON.stringify({ model, data, counts: { train: 1, valid: 1 } }));
    await expect(quiet(() => command.run(['--run', dir, '--out', join(root, 'y')]))).rejects.toThrow(
      /the data changed since the run/,
    );
  });
});
