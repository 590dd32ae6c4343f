/**
 * Files a `cli train` run writes besides the adapter: the checkpoints it keeps (the newest as
 * checkpoint.safetensors, for --resume, and the last N under checkpoints/step-NNNNNN.safetensors, for
 * `export --checkpoint`), and the model's tokenizer files copied next to the adapter; all through
 * output-folder.ts (never through a link, a torn write leaves the previous file).
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelSource } from '../model/source.ts';
import { writeInFolder } from './output-folder.ts';

export const CHECKPOINT_DIR = 'checkpoints';

export function checkpointName(step: number): string {
  return `step-${String(step).padStart(6, '0')}.safetensors`;
}

/** Writes a checkpoint as the newest and into checkpoints/, keeping the `keep` newest there (0: only the newest). */
export async function writeCheckpoint(outDir: string, bytes: Uint8Array, step: number, keep: number): Promise<void> {
  await writeInFolder(outDir, 'checkpoint.safetensors', bytes);
  if (keep <= 0) return;
  await writeInFolder(outDir, `${CHECKPOINT_DIR}/${checkpointName(step)}`, bytes);
  const dir = join(outDir, CHECKPOINT_DIR);
  const saved = (await readdir(dir)).filter((n) => /^step-\d+\.safetensors$/.test(n)).sort();
  for (const old of saved.slice(0, Math.max(0, saved.length - keep))) await rm(join(dir, old), { force: true });
}

/** The tokenizer files a model folder has, as mlx-lm, llama.cpp and transformers look for them next to an adapter. */
export const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
] as const;

/** Copies the model's tokenizer files into `outDir`; returns the names copied. */
export async function copyTokenizer(source: ModelSource, outDir: string): Promise<string[]> {
  const copied: string[] = [];
  for (const name of TOKENIZER_FILES) {
    const text = await source.readText(name);
    if (text === null) continue;
    await writeInFolder(outDir, name, text);
    copied.push(name);
  }
  return copied;
}
