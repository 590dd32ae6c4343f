/**
 * llama.cpp reads the fixture GGUF files' vocabularies as the engine's tokenizer.json: plain text and a rendered chat
 * tokenize to the same ids (a SentencePiece vocabulary without `add_space_prefix = false` would get a leading `▁`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenizerFromDir } from '../../../src/data/node-files.ts';
import { llamaTokenize } from './llama-cpp.ts';
import { CASES, caseName, judgeModel } from './models.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'llamacpp-tokenize-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const TEXTS = ['Hello world', 'What color is the sky?', ' leading space', 'the cat sat on the mat.\nAnd then?'];

describe('llama.cpp tokenizes as the engine does (fixture GGUF vocabularies)', () => {
  for (const [arch, variant] of CASES) {
    const name = caseName(arch, variant);
    it(name, async () => {
      const { model: m, files } = await judgeModel(join(root, `${arch}-${variant}`), arch, variant, ['F32']);
      const ours = await tokenizerFromDir(m.dir);
      const chat = ours.renderChat([
        { role: 'user', content: 'What color is the sky?' },
        { role: 'assistant', content: 'Blue.' },
      ]);
      for (const text of [...TEXTS, chat]) {
        expect(await llamaTokenize(files.F32!, text), JSON.stringify(text)).toEqual(ours.encode(text, false));
      }
    });
  }
});
