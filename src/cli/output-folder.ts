/**
 * Where the CLI writes exports and training outputs, written so that a bad `--out` or a prepared folder cannot
 * destroy what is being read or reach outside the folder:
 * - an output folder that is, or contains, an input (the model folder, an adapter folder, the files a model folder
 *   links to) is refused before anything is written: `export --format merged --out <the model's folder>` would
 *   otherwise truncate the shards while they are read;
 * - a file is written under a fresh temporary name in its final folder (created exclusively, never through a link),
 *   then renamed over the final name: a link already sitting at that name is replaced, not followed, and an
 *   interrupted write leaves the previous file whole; a folder on the way that is a link is refused;
 * - names come from the exporters (shard names can come from a model's index file): each must stay inside the folder.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, rename, rm } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { FileSink, SinkFile } from '../train/merge.ts';
import { forTerminal } from './terminal.ts';

/** A refused output folder or file name: a message for the user (exit 1). */
export class OutputFolderError extends Error {
  override name = 'OutputFolderError';
}

export interface OutputInput {
  /** What it is, for the message: "the model", "the adapter". */
  role: string;
  /** A folder or a file being read. */
  path: string;
}

/** The real path of `path`; for a path that does not exist yet, the real path of its nearest existing folder + the rest. */
async function realOrPlanned(path: string): Promise<string> {
  const full = resolve(path);
  const rest: string[] = [];
  let at = full;
  for (;;) {
    try {
      return join(await realpath(at), ...rest.reverse());
    } catch {
      const up = dirname(at);
      if (up === at) return full;
      rest.push(at.slice(up.length).replace(/^[/\\]+/, ''));
      at = up;
    }
  }
}

/** True when `inner` is `outer` or lies inside it. */
function within(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The folders an input occupies: its own real path and, for a folder, where each file in it really lives. */
async function occupied(input: OutputInput): Promise<string[]> {
  const real = await realOrPlanned(input.path);
  const places = [real];
  const info = await lstat(real).catch(() => null);
  if (!info?.isDirectory()) return places;
  for (const e of await readdir(real, { withFileTypes: true }).catch(() => [])) {
    if (!e.isSymbolicLink()) continue;
    const target = await realpath(join(real, e.name)).catch(() => null);
    if (target) places.push(target);
  }
  return places;
}

/**
 * Refuses `out` when it is, or contains, one of `inputs` (compared by real path, so `./model/`, `model/../model` and
 * a link to it are all caught; also a folder holding the files that the input's links point to, as in the Hugging
 * Face cache). Returns the real path the output will have.
 */
export async function checkOutputFolder(out: string, inputs: OutputInput[]): Promise<string> {
  const target = await realOrPlanned(out);
  const info = await lstat(target).catch(() => null);
  if (info && !info.isDirectory())
    throw new OutputFolderError(`--out ${forTerminal(out)} is a file, not a folder: name a folder to write into.`);
  for (const input of inputs) {
    for (const place of await occupied(input)) {
      if (within(place, target))
        throw new OutputFolderError(
          `--out ${forTerminal(out)} ${place === target ? 'is' : 'contains'} ${input.role} being read (${forTerminal(input.path)}): ` +
            'writing there would overwrite or delete it. Choose another output folder.',
        );
    }
  }
  return target;
}

/** Checks an exporter's file name: relative, inside the folder, no empty / `.` / `..` parts, no control characters. */
function checkedName(name: string): string[] {
  const parts = name.split(/[/\\]/);
  if (
    name.length === 0 ||
    isAbsolute(name) ||
    parts.some((p) => p === '' || p === '.' || p === '..') ||
    /[\u0000-\u001f\u007f]/.test(name)
  )
    throw new OutputFolderError(
      `refusing to write "${forTerminal(name)}": a file name must stay inside the output folder.`,
    );
  return parts;
}

/** Creates `dir/parts…` folder by folder; a part that exists as a link or a file is refused. */
async function makeFolders(root: string, parts: string[]): Promise<string> {
  let at = root;
  for (const p of parts) {
    at = join(at, p);
    const info = await lstat(at).catch(() => null);
    if (!info) {
      await mkdir(at).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      continue;
    }
    if (info.isSymbolicLink() || !info.isDirectory())
      throw new OutputFolderError(
        `refusing to write through ${forTerminal(at)}: it is ${info.isSymbolicLink() ? 'a link' : 'not a folder'}. Remove it or choose another output folder.`,
      );
  }
  return at;
}

const EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

/**
 * Opens `name` inside the real folder `root` for writing: a temporary `.name.<random>.partial` beside it; close()
 * renames it over `name`, abort() removes it.
 */
export async function openInFolder(root: string, name: string): Promise<SinkFile> {
  const parts = checkedName(name);
  const folder = await makeFolders(root, parts.slice(0, -1));
  const base = parts[parts.length - 1]!;
  const final = join(folder, base);
  const existing = await lstat(final).catch(() => null);
  if (existing?.isDirectory())
    throw new OutputFolderError(`refusing to replace the folder ${forTerminal(final)} with a file.`);
  const temp = join(folder, `.${base}.${randomBytes(6).toString('hex')}.partial`);
  const handle = await open(temp, EXCLUSIVE, 0o644);
  let closed = false;
  return {
    async write(chunk) {
      let done = 0;
      while (done < chunk.byteLength) done += (await handle.write(chunk, done, chunk.byteLength - done)).bytesWritten;
    },
    async close() {
      closed = true;
      try {
        await handle.sync();
        await handle.close();
        await rename(temp, final);
      } catch (err) {
        await rm(temp, { force: true });
        throw err;
      }
    },
    async abort() {
      if (!closed) await handle.close().catch(() => undefined);
      await rm(temp, { force: true });
    },
  };
}

/** Files written into the folder `dir` (created; the real path from checkOutputFolder), each as openInFolder writes it. */
export function safeFolderSink(dir: string): FileSink {
  return {
    async open(name) {
      await mkdir(dir, { recursive: true });
      return openInFolder(dir, name);
    },
  };
}

/** Writes `bytes` as `name` inside `dir` (see openInFolder). */
export async function writeInFolder(dir: string, name: string, bytes: Uint8Array | string): Promise<void> {
  const file = await safeFolderSink(dir).open(name);
  try {
    await file.write(typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes);
  } catch (err) {
    await file.abort?.();
    throw err;
  }
  await file.close();
}
