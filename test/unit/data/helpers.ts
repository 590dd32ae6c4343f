/**
 * Shared helpers for the dataset tests: fixture paths (copies of ../shared/datasets in
 * test/fixtures/datasets), importing them from disk, and the fixture tokenizers.
 */
import { join } from 'node:path';
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
