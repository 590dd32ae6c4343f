/**
 * Exports and training outputs as an attacker would aim them: an output folder that is (or holds) the model or the
 * adapter being read, links planted inside the output folder, names that leave it, interrupted writes. Run through
 * the real `cli export` command on a real tiny model folder, and through the folder writer itself.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { command as exportCommand } from '../../../src/cli/commands/export.ts';
import { checkOutputFolder, openInFolder, OutputFolderError, safeFolderSink } from '../../../src/cli/output-folder.ts';
import { parseModelConfig } from '../../../src/model/config.ts';
import { peftFiles } from '../../../src/train/export.ts';
import { trainConfig } from '../../../src/schema/train.ts';
import { makeTinyModel, type TinyModel } from '../../fixtures/make-models.ts';
import { randomAdapter } from '../../fixtures/random-adapter.ts';
import { seededRng } from '../../harness/rng.ts';

let root: string;
let model: TinyModel;
let adapterDir: string;
/** The model folder's files and the sha256 of each before any export ran. */
let before: Map<string, string>;
let configBytes: Buffer;
let weightBytes: number;

async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await readdir(dir)).sort())
    out.set(
      name,
      createHash('sha256')
        .update(await readFile(join(dir, name)))
        .digest('hex'),
    );
  return out;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'export-safety-'));
  model = await makeTinyModel('llama', join(root, 'model'), { seed: 7 });
  const desc = parseModelConfig(model.config);
  const e = randomAdapter(desc, seededRng('export safety adapter'), { rank: 2, alpha: 4, baseModel: 'tiny/llama' });
  adapterDir = join(root, 'adapter');
  await mkdir(adapterDir);
  const facts = {
    baseModel: 'tiny/llama',
    data: 'd.jsonl',
    config: trainConfig(null, {}),
    steps: 1,
    finalLoss: null,
    finalValLoss: null,
  };
  for (const f of peftFiles(e, facts)) await writeFile(join(adapterDir, f.name), f.bytes);
  before = await snapshot(model.dir);
  configBytes = await readFile(join(model.dir, 'config.json'));
  weightBytes = (await stat(join(model.dir, 'model.safetensors'))).size;
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Runs `cli export` in-process; stdout is captured (the JSON summary). */
async function runExport(argv: string[]): Promise<{ code: number; stdout: string }> {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const errWrite = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((c: string) => (chunks.push(String(c)), true)) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return { code: await exportCommand.run(argv), stdout: chunks.join('') };
  } finally {
    process.stdout.write = write;
    process.stderr.write = errWrite;
  }
}

const merged = (out: string) => ['--adapter', adapterDir, '--model', model.dir, '--format', 'merged', '--out', out];

describe('cli export: the output folder', () => {
  it('refuses the model folder itself, by any spelling or link, and leaves every byte of it', async () => {
    await symlink(model.dir, join(root, 'model-link'));
    for (const out of [model.dir, `${model.dir}/`, join(model.dir, '..', 'model'), join(root, 'model-link')]) {
      await expect(runExport(merged(out))).rejects.toThrow(/is the model being read/);
    }
    expect(await snapshot(model.dir)).toEqual(before);
  });

  it('refuses a folder that contains the model or the adapter', async () => {
    await expect(runExport(merged(root))).rejects.toThrow(/contains the model being read/);
    await expect(
      runExport([
        '--adapter',
        adapterDir,
        '--model',
        model.dir,
        '--format',
        'peft',
        '--dtype',
        'f16',
        '--out',
        adapterDir,
      ]),
    ).rejects.toThrow(/is the adapter being read/);
    expect(await snapshot(model.dir)).toEqual(before);
  });

  it('refuses a folder holding the files the model folder links to (a Hugging Face cache snapshot)', async () => {
    const blobs = join(root, 'hf', 'blobs');
    const snap = join(root, 'hf', 'snapshots', 'abc');
    await mkdir(blobs, { recursive: true });
    await mkdir(snap, { recursive: true });
    await writeFile(join(blobs, 'sha-config'), configBytes);
    await symlink(join(blobs, 'sha-config'), join(snap, 'config.json'));
    await expect(checkOutputFolder(blobs, [{ role: 'the model', path: snap }])).rejects.toThrow(
      /contains the model being read/,
    );
  });

  it('writes a sibling folder or a folder inside the model folder, and a file path is refused', async () => {
    await expect(checkOutputFolder(join(model.dir, 'merged'), [{ role: 'the model', path: model.dir }])).resolves.toBe(
      join(model.dir, 'merged'),
    );
    await expect(checkOutputFolder(join(model.dir, 'config.json'), [])).rejects.toThrow(/is a file, not a folder/);
    const { code, stdout } = await runExport(merged(join(root, 'out-ok')));
    expect(code).toBe(0);
    expect(JSON.parse(stdout).files.map((f: { name: string }) => f.name)).toContain('model.safetensors');
    expect((await readdir(join(root, 'out-ok'))).filter((n) => n.endsWith('.partial'))).toEqual([]);
  });
});

describe('cli export: links inside the output folder', () => {
  it('replaces a planted link instead of writing through it; the file it points to is untouched', async () => {
    const out = join(root, 'out-links');
    await mkdir(out);
    const victim = join(root, 'victim.bin');
    await writeFile(victim, 'precious');
    await symlink(victim, join(out, 'model.safetensors'));
    await symlink(victim, join(out, 'README.md'));
    const { code } = await runExport(merged(out));
    expect(code).toBe(0);
    expect(await readFile(victim, 'utf8')).toBe('precious');
    expect((await lstat(join(out, 'model.safetensors'))).isSymbolicLink()).toBe(false);
    expect((await stat(join(out, 'model.safetensors'))).size).toBe(weightBytes);
  });

  it('refuses to write through a linked folder (onnx/ pointing outside)', async () => {
    const out = join(root, 'out-linked-dir');
    const outside = join(root, 'outside');
    await mkdir(out);
    await mkdir(outside);
    await symlink(outside, join(out, 'onnx'));
    await expect(openInFolder(out, 'onnx/model.onnx')).rejects.toThrow(OutputFolderError);
    await expect(openInFolder(out, 'onnx/model.onnx')).rejects.toThrow(/it is a link/);
    expect(await readdir(outside)).toEqual([]);
  });

  it('refuses names that leave the folder or hold control characters', async () => {
    const out = join(root, 'out-names');
    await mkdir(out);
    for (const name of ['../escape.bin', '/etc/passwd', 'a/../../b', '', 'a//b', 'x\u001b[31m.bin', 'C:\\x\\..\\..\\y'])
      await expect(openInFolder(out, name)).rejects.toThrow(/must stay inside the output folder/);
    expect(await readdir(root)).not.toContain('escape.bin');
  });
});

describe('writes go to a temporary name, then are renamed', () => {
  it('the old file stays whole until close(); an aborted write leaves it and no temporary behind', async () => {
    const out = join(root, 'out-atomic');
    const sink = safeFolderSink(out);
    const first = await sink.open('weights.bin');
    await first.write(new TextEncoder().encode('version 1'));
    await first.close();

    const second = await sink.open('weights.bin');
    await second.write(new TextEncoder().encode('version 2, half writ'));
    expect(await readFile(join(out, 'weights.bin'), 'utf8')).toBe('version 1');
    expect((await readdir(out)).some((n) => n.endsWith('.partial'))).toBe(true);
    await second.abort!();
    expect(await readFile(join(out, 'weights.bin'), 'utf8')).toBe('version 1');
    expect(await readdir(out)).toEqual(['weights.bin']);

    const third = await sink.open('weights.bin');
    await third.write(new TextEncoder().encode('version 3'));
    await third.close();
    expect(await readFile(join(out, 'weights.bin'), 'utf8')).toBe('version 3');
    expect(await readdir(out)).toEqual(['weights.bin']);
  });
});
