/**
 * Shared helpers for the dataset tests: fixture paths (copies of ../shared/datasets in
 * test/fixtures/datasets), importing them from disk, and the fixture tokenizers.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { EntryLike } from '../../../src/data/browser-files.ts';
import { importDataset, type ImportOptions } from '../../../src/data/import.ts';
import { fileFromBytes, type ImportFile } from '../../../src/data/inputs.ts';
import { filesFromPaths } from '../../../src/data/node-files.ts';
import { ModelTokenizer } from '../../../src/data/tokenizer.ts';
import type { ImportSettingsInput, Problem } from '../../../src/schema/dataset.ts';
import { buildFixtureTokenizer, type FixtureTemplate } from '../../fixtures/tokenizer.ts';

export const DATASETS = join(process.cwd(), 'test', 'fixtures', 'datasets');

export function datasetPath(...parts: string[]): string {
  return join(DATASETS, ...parts);
}

export async function importFixture(folder: string, settings: ImportSettingsInput = {}, options: ImportOptions = {}) {
  return importDataset(await filesFromPaths([datasetPath(folder)]), settings, options);
}

const tokenizers = new Map<FixtureTemplate, ModelTokenizer>();

export function fixtureTokenizer(template: FixtureTemplate): ModelTokenizer {
  let tok = tokenizers.get(template);
  if (!tok) {
    tok = new ModelTokenizer(buildFixtureTokenizer(template));
    tokenizers.set(template, tok);
  }
  return tok;
}

const utf8 = new TextEncoder();

/** An in-memory file from text. */
export function textFile(path: string, text: string): ImportFile {
  return fileFromBytes(path, utf8.encode(text));
}

/** A file whose stream delivers `chunkSize`-byte chunks (to cross multi-byte characters). */
export function chunkedFile(path: string, bytes: Uint8Array, chunkSize: number): ImportFile {
  const base = fileFromBytes(path, bytes);
  return {
    ...base,
    path,
    stream() {
      let at = 0;
      return new ReadableStream<Uint8Array>({
        pull(controller) {
          if (at >= bytes.length) {
            controller.close();
            return;
          }
          controller.enqueue(bytes.slice(at, at + chunkSize));
          at += chunkSize;
        },
      });
    },
  };
}

/** Problems as compact "file:line code" strings, sorted, for exact comparisons. */
export function problemKeys(problems: Problem[]): string[] {
  return problems.map((p) => `${p.file}:${p.line ?? '-'} ${p.code}`).sort();
}

/** Problems as "file:line code @offset" strings (the offset where there is one), sorted. */
export function problemKeysWithOffsets(problems: Problem[]): string[] {
  return problems
    .map((p) => `${p.file}:${p.line ?? '-'} ${p.code}${p.offset === undefined ? '' : ` @${p.offset}`}`)
    .sort();
}

/**
 * FileSystemEntry-shaped view of a folder on disk, over real File objects (Node's File is the web
 * File); readEntries hands out at most `batch` entries per call, like Chrome. Links are followed as
 * the browser does; an entry whose target is gone fails in file(), as a browser's does.
 */
export function entryFor(full: string, root: string, batch = 2): EntryLike {
  const name = full.split('/').pop()!;
  const fullPath = `/${relative(root, full)}`;
  let isDirectory = false;
  try {
    isDirectory = statSync(full).isDirectory();
  } catch {
    // a broken link: a file entry whose file() fails
  }
  if (isDirectory) {
    return {
      isFile: false,
      isDirectory: true,
      name,
      fullPath,
      createReader() {
        const children = readdirSync(full)
          .sort()
          .map((n) => entryFor(join(full, n), root, batch));
        return {
          readEntries(success: (entries: EntryLike[]) => void) {
            queueMicrotask(() => success(children.splice(0, batch)));
          },
        };
      },
    } as EntryLike;
  }
  return {
    isFile: true,
    isDirectory: false,
    name,
    fullPath,
    file(success: (f: File) => void, error: (err: unknown) => void) {
      queueMicrotask(() => {
        try {
          success(new File([readFileSync(full)], name));
        } catch {
          error(new DOMException('A requested file or directory could not be found.', 'NotFoundError'));
        }
      });
    },
  } as EntryLike;
}
