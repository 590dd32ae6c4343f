/**
 * A run as `cli export-run --run` reads it: the `run.json` that `cli train` writes next to its adapter, or a
 * hand-written JSON file of the same shape (model folder, data paths, preset, overrides, import settings).
 */
import { z } from 'zod';
import { PRESETS } from './train.ts';

export const RUN_FILE = 'run.json';

export const RunSpecSchema = z.object({
  /** The model folder (config.json, tokenizer.json, weights) the run trained on. */
  model: z.string().min(1),
  /** The Hub repository the folder is a copy of (the scale-out script downloads it); default: the folder's name. */
  modelId: z.string().min(1).optional(),
  /** The Hub revision (branch, tag or commit) of `modelId`. */
  revision: z.string().min(1).nullable().default(null),
  /** The dataset files or folders, as given to `cli train --data`. */
  data: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  preset: z
    .enum(Object.keys(PRESETS) as [keyof typeof PRESETS, ...(keyof typeof PRESETS)[]])
    .nullable()
    .default(null),
  /** Overrides on top of the preset (a complete, resolved config is fine too). */
  config: z.looseObject({}).default({}),
  /** The import's settings (mask, split, over-length policy, system prompt); maxLength and seed follow the config. */
  import: z.looseObject({}).default({}),
  /** Written by `cli train`: the split sizes it trained on, so a changed dataset is noticed. */
  counts: z.object({ train: z.number().int(), valid: z.number().int() }).optional(),
});
export type RunSpec = z.infer<typeof RunSpecSchema>;
