/** Every fuzz target, in the order `npm run fuzz` runs them (see ../target.ts for adding one). */
import type { FuzzTarget } from '../target.ts';
import { configTarget } from './config.ts';
import { folderTarget } from './dataset-folders.ts';
import {
  csvTarget,
  jsonArrayTarget,
  jsonlTarget,
  markdownTarget,
  parquetTarget,
  problemFolderTarget,
  tsvTarget,
} from './datasets.ts';
import { ggufTarget } from './gguf.ts';
import { peftTarget } from './peft.ts';
import { safetensorsTarget, shardIndexTarget } from './safetensors.ts';
import { chatTemplateTarget, tokenizerTarget } from './tokenizer.ts';

export const TARGETS: FuzzTarget<never>[] = [
  safetensorsTarget,
  shardIndexTarget,
  ggufTarget,
  configTarget,
  peftTarget,
  tokenizerTarget,
  chatTemplateTarget,
  jsonlTarget,
  jsonArrayTarget,
  csvTarget,
  tsvTarget,
  parquetTarget,
  markdownTarget,
  problemFolderTarget,
  folderTarget,
] as FuzzTarget<never>[];
