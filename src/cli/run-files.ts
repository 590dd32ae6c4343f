/**
 * Files a `cli train` run writes besides the adapter: the checkpoints it keeps (the newest as
 * checkpoint.safetensors, for --resume, and the last N under checkpoints/step-NNNNNN.safetensors, for
 * `export --checkpoint`), and the model's tokenizer files copied next to the adapter.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelSource } from '../model/source.ts';

export const CHECKPOINT_DIR = 'checkpoints';

export function checkpointName(step: number): string {
  return `step-${String(step).padStart(6, '0')}.safetensors`;
}

/** Writes a checkpoint as the newest and into checkpoints/, keeping the `keep` newest there (0: only the newest). */
export async function writeCheckpoint(outDir: string, bytes: Uint8Array, step: number, keep: number): Promise<void> {
  await writeFile(join(outDir, 'checkpoint.safetensors'), bytes);
  if (keep <= 0) return;
  const dir = join(outDir, CHECKPOINT_DIR);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, checkpointName(step)), bytes);
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
    await writeFile(join(outDir, name), text);
    copied.push(name);
  }
  return copied;
}
