/**
 * The scale-out folder of a run: the data as the run saw it, train.py (transformers + PEFT), accelerate and axolotl
 * configs, requirements, a README and the run's settings. The CLI (`export-run`) and the engine worker (the Train
 * page's "Scale out" button) both call `scaleOutFiles`; neither needs a GPU.
 */
import type { ModelTokenizer } from '../../data/tokenizer.ts';
import type { DatasetRecord } from '../../schema/dataset.ts';
import type { ExportedFile } from '../export.ts';
import { accelerateConfig, axolotlYaml } from './configs.ts';
import { type DatasetFileCounts, datasetFiles } from './dataset-files.ts';
import { requirementsTxt, scaleOutReadme } from './readme.ts';
import type { ScaleOutRun } from './settings.ts';
import { trainPy } from './train-py.ts';

export type { ScaleOutRun };

export const SCALE_OUT_RUN_FILE = 'lora-studio-run.json';

export interface ScaleOutInput {
  run: ScaleOutRun;
  records: readonly DatasetRecord[];
  /** The model's tokenizer: folds system turns as training does and leaves out the rows the run left out. */
  tokenizer: ModelTokenizer | null;
  /** How the README's import-back commands name the model (the app's model folder). */
  appModel?: string;
}

export interface ScaleOut {
  files: ExportedFile[];
  counts: DatasetFileCounts;
}

export function scaleOutFiles(input: ScaleOutInput): ScaleOut {
  const { run } = input;
  const settings = { ...run.settings, maxLength: run.config.maxLength };
  const data = datasetFiles(input.records, settings, input.tokenizer);
  if (data.counts.train === 0)
    throw new Error(
      'The run has no training row to hand over (every row is too long or has no token to learn); check the mask and the maximum length.',
    );
  const chat = input.records.some((r) => r.kind === 'chat');
  const enc = new TextEncoder();
  const text = (name: string, body: string): ExportedFile => ({ name, bytes: enc.encode(body) });
  const facts = {
    format: 'lora-studio-scale-out',
    name: run.name,
    model: { id: run.model.id, revision: run.model.revision },
    config: run.config,
    import: settings,
    counts: data.counts,
  };
  return {
    files: [
      text('train.jsonl', data.train),
      text('valid.jsonl', data.valid),
      text('train.py', trainPy(run)),
      text('accelerate_config.yaml', accelerateConfig(run)),
      text('axolotl.yaml', axolotlYaml(run, { chat, validRows: data.counts.valid })),
      text('requirements.txt', requirementsTxt(run)),
      text('README.md', scaleOutReadme(run, data.counts, input.appModel ?? run.model.id)),
      text(SCALE_OUT_RUN_FILE, `${JSON.stringify(facts, null, 2)}\n`),
    ],
    counts: data.counts,
  };
}
