/**
 * `npm run cli -- export-run --run DIR_OR_CONFIG --out DIR [--model-id HUB_ID] [--revision REV]` hands a run over to
 * transformers + PEFT + accelerate (and axolotl): the folder of src/train/scale-out/ with the data as the run saw it,
 * train.py, accelerate_config.yaml, axolotl.yaml, requirements.txt and a README. `--run` is a `cli train --out`
 * folder (its run.json) or a JSON file of the same shape (src/schema/scale-out.ts: model folder, data paths, preset,
 * config overrides, import settings). The data is imported again with the run's settings and the model's tokenizer,
 * so the split, system prompt, mask and length policy are the run's. `--out` must be a new or empty folder.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { importDataset } from '../../data/import.ts';
import { filesFromPaths } from '../../data/node-files.ts';
import { loadTokenizer } from '../../data/tokenizer.ts';
import { NodeFolderModelSource } from '../../model/source-node.ts';
import { ImportSettingsSchema } from '../../schema/dataset.ts';
import { RUN_FILE, type RunSpec, RunSpecSchema } from '../../schema/scale-out.ts';
import { type TrainConfigInput, trainConfig } from '../../schema/train.ts';
import { scaleOutFiles } from '../../train/scale-out/scale-out.ts';
import { parseArgs, stringFlag } from '../args.ts';
import { forTerminal } from '../terminal.ts';
import { checkOutputFolder, writeInFolder } from '../output-folder.ts';
import { describeSource } from './export.ts';
import type { CliCommand } from './types.ts';

/** The run spec of `--run` (a folder's run.json or a JSON file), with its paths made absolute. */
export async function readRunSpec(path: string): Promise<RunSpec> {
  const isDir = (await stat(path)).isDirectory();
  const file = isDir ? join(path, RUN_FILE) : path;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new Error(
      isDir
        ? `${path} has no ${RUN_FILE}: pass the --out folder of \`cli train\`, or a JSON file with model, data and config`
        : `cannot read ${file}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message})`);
  }
  const parsed = RunSpecSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(
      `${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`,
    );
  const base = dirname(resolve(file));
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const spec = parsed.data;
  return { ...spec, model: abs(spec.model), data: (Array.isArray(spec.data) ? spec.data : [spec.data]).map(abs) };
}

async function checkOutFolder(out: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(out);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (entries.length > 0)
    throw new Error(
      `--out ${forTerminal(out)} is not empty: choose a new or empty folder (nothing there is overwritten)`,
    );
}

export const command: CliCommand = {
  summary: 'hand a run over to transformers + PEFT + accelerate: data, train.py, accelerate and axolotl configs',
  async run(argv) {
    const args = parseArgs(argv);
    const runPath = stringFlag(args, 'run');
    const out = stringFlag(args, 'out');
    if (!runPath || !out)
      throw new Error('export-run needs --run DIR_OR_CONFIG --out DIR [--model-id HUB_ID] [--revision REV]');
    const spec = await readRunSpec(runPath);
    const outReal = await checkOutputFolder(out, [
      { role: 'the model', path: spec.model },
      ...[spec.data].flat().map((path) => ({ role: 'the data', path })),
    ]);
    await checkOutFolder(outReal);
    const config = trainConfig(spec.preset, spec.config as TrainConfigInput);
    const settingsInput = { maxLength: config.maxLength, seed: config.seed, ...spec.import };
    const source = await NodeFolderModelSource.open(spec.model);
    const tokenizer = await loadTokenizer((name) => source.readText(name));
    const desc = await describeSource(source);
    const imported = await importDataset(await filesFromPaths(spec.data as string[]), settingsInput, { tokenizer });
    if (spec.counts && (spec.counts.train !== imported.counts.train || spec.counts.valid !== imported.counts.valid))
      throw new Error(
        `the data changed since the run: it had ${spec.counts.train} training and ${spec.counts.valid} validation rows, ` +
          `${[spec.data].flat().join(', ')} now gives ${imported.counts.train} and ${imported.counts.valid}`,
      );
    const modelId = stringFlag(args, 'model-id') ?? spec.modelId ?? spec.model;
    if (!args.flags.has('model-id') && !spec.modelId)
      process.stderr.write(
        `note: train.py loads the model from ${spec.model}; pass --model-id ORG/NAME to load it from the Hub instead\n`,
      );
    const { files, counts } = scaleOutFiles({
      run: {
        name: source.name,
        model: {
          id: modelId,
          revision: stringFlag(args, 'revision') ?? spec.revision,
          modelType: desc.arch,
          layers: desc.layers,
        },
        config,
        settings: ImportSettingsSchema.parse(imported.settings),
      },
      records: imported.records,
      tokenizer,
      appModel: spec.model,
    });
    for (const f of files) await writeInFolder(outReal, f.name, f.bytes);
    process.stdout.write(
      `${JSON.stringify({ out, model: modelId, counts, files: files.map((f) => ({ name: f.name, bytes: f.bytes.byteLength })) })}\n`,
    );
    return 0;
  },
};
