/**
 * config.json target: the tiny llama folder with its config.json mutated (sizes of 1e9, products that overflow,
 * zero or negative counts, fewer layers than the file holds, wrong types, deleted keys); read by `cli logits`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mutateJson, pick } from '../mutate.ts';
import type { Corpus, FuzzCase, FuzzTarget } from '../target.ts';
import { copySeed, logitsCase } from './common.ts';

const SIZE_KEYS = [
  'hidden_size',
  'intermediate_size',
  'num_hidden_layers',
  'num_attention_heads',
  'num_key_value_heads',
  'head_dim',
  'vocab_size',
  'max_position_embeddings',
];

export const configTarget: FuzzTarget<Corpus> = {
  name: 'config-json',
  description: 'config.json of the tiny llama folder: sizes, overflowing products, fewer layers, types; cli logits',
  prepare: async (corpus) => corpus,
  async seedCase(corpus, dir) {
    const model = await copySeed(corpus.model, dir, 'model', (f) => !f.endsWith('.gguf'));
    return logitsCase(dir, model, ['model/config.json'], 'seed');
  },
  async makeCase(corpus, rng, dir): Promise<FuzzCase> {
    const model = await copySeed(corpus.model, dir, 'model', (f) => !f.endsWith('.gguf'));
    const path = join(model, 'config.json');
    const text = await readFile(path, 'utf8');
    let note: string;
    if (rng.next() < 0.5) {
      const config = JSON.parse(text) as Record<string, unknown>;
      const key = pick(rng, SIZE_KEYS);
      const old = typeof config[key] === 'number' ? (config[key] as number) : 2;
      const value = pick(rng, [1e9, 2 ** 31, 2 ** 53, 0, -1, 1, old - 1, old + 1, old * 2, 1.5, 65536 * 65536]);
      config[key] = value;
      await writeFile(path, JSON.stringify(config));
      note = `${key} = ${value}`;
    } else {
      const m = mutateJson(rng, text);
      await writeFile(path, m.text);
      note = m.note;
    }
    return logitsCase(dir, model, ['model/config.json'], note);
  },
};
