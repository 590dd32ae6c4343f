/**
 * NODE ONLY (imports node:fs): turns files and folders on disk into ImportFiles for the CLI and
 * tests, and reads a tokenizer from a model folder. Browser code uses browser-files.ts instead.
 */
import { openAsBlob, type Stats } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { fileFromBlob, normalizePath, type ImportFile, type UnreadableInput } from './inputs.ts';
import { loadTokenizer, type ModelTokenizer } from './tokenizer.ts';

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? 'unknown error';
}

function unreadableReason(err: unknown, what: string): string {
  const code = errorCode(err);
  if (code === 'ENOENT') return `${what}: its target does not exist (a broken symbolic link)`;
  if (code === 'ELOOP') return `${what}: a loop of symbolic links`;
  if (code === 'EACCES' || code === 'EPERM') return `${what}: permission denied`;
  return `${what}: ${code}`;
}

/**
 * Walks files and folders like a browser folder drop: symbolic links are followed (to files and
 * to folders); a folder reached a second time through a link (a loop), a broken link, a FIFO,
 * socket or device, and anything that cannot be read are listed with the reason instead of being
 * read (a FIFO would block the import forever).
 */
class Walker {
  readonly out: (ImportFile | UnreadableInput)[] = [];
  /** Real paths of folders walked so far, with the path inside the import they were first read at. */
  private readonly folders = new Map<string, string>();

  constructor(private readonly root: string) {}

  private rel(full: string): string {
    return normalizePath(relative(this.root, full));
  }

  private skip(full: string, reason: string): void {
    this.out.push({ path: this.rel(full), unreadable: reason });
  }

  async visit(full: string, info: Stats): Promise<void> {
    if (info.isDirectory()) return this.folder(full);
    if (!info.isFile()) return this.skip(full, 'not a regular file (a FIFO, socket or device)');
    try {
      this.out.push(fileFromBlob(this.rel(full), await openAsBlob(full)));
    } catch (err) {
      this.skip(full, unreadableReason(err, 'cannot be read'));
    }
  }

  private async folder(full: string): Promise<void> {
    let real: string;
    let names: string[];
    try {
      real = await realpath(full);
      names = (await readdir(full)).sort();
    } catch (err) {
      return this.skip(full, unreadableReason(err, 'folder cannot be read'));
    }
    const first = this.folders.get(real);
    if (first !== undefined) return this.skip(full, `a link to a folder already read (${first || '.'})`);
    this.folders.set(real, this.rel(full));
    for (const name of names) {
      const child = join(full, name);
      let info: Stats;
      try {
        info = await stat(child);
      } catch (err) {
        this.skip(child, unreadableReason(err, 'cannot be read'));
        continue;
      }
      await this.visit(child, info);
    }
  }
}

/**
 * Files under each path. Paths inside the import keep the folder's own name, as a browser folder
 * drop does: importing `/data/bad_inputs` yields "bad_inputs/broken.jsonl"; a single file keeps
 * its base name. What cannot be read comes back as `{ path, unreadable }`, which the importer
 * lists as skipped.
 */
export async function filesFromPaths(paths: string[]): Promise<(ImportFile | UnreadableInput)[]> {
  const files: (ImportFile | UnreadableInput)[] = [];
  for (const p of paths) {
    const walker = new Walker(dirname(p));
    let info: Stats;
    try {
      info = await stat(p);
    } catch (err) {
      // A path given on the command line that does not exist is the caller's mistake: say so.
      if (errorCode(err) === 'ENOENT') throw new Error(`${p}: no such file or folder`);
      files.push({ path: basename(p), unreadable: unreadableReason(err, 'cannot be read') });
      continue;
    }
    await walker.visit(p, info);
    files.push(...walker.out);
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
