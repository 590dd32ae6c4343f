/**
 * NODE ONLY (imports node:fs): turns files and folders on disk into ImportFiles for the CLI and
 * tests, and reads a tokenizer from a model folder. Browser code uses browser-files.ts instead.
 */
import { openAsBlob } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, relative, dirname } from 'node:path';
import { fileFromBlob, type ImportFile } from './inputs.ts';
import { loadTokenizer, type ModelTokenizer } from './tokenizer.ts';

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full)));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

/**
 * Files under each path. Paths inside the import keep the folder's own name, as a browser folder
 * drop does: importing `/data/bad_inputs` yields "bad_inputs/broken.jsonl"; a single file keeps
 * its base name.
 */
export async function filesFromPaths(paths: string[]): Promise<ImportFile[]> {
  const files: ImportFile[] = [];
  for (const p of paths) {
    const info = await stat(p);
    const root = dirname(p);
    const list = info.isDirectory() ? await walk(p) : [p];
    for (const full of list) {
      const rel = info.isDirectory() ? relative(root, full) : basename(full);
      files.push(fileFromBlob(rel, await openAsBlob(full)));
    }
  }
  return files;
}

/** Loads tokenizer.json + tokenizer_config.json (+ chat_template.jinja) from a model folder. */
export async function tokenizerFromDir(dir: string): Promise<ModelTokenizer> {
  return loadTokenizer(async (name) => {
    try {
      return await readFile(join(dir, name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  });
}
