/**
 * PEFT adapter target: adapter_config.json (lora_alpha 1e308, rank, target modules, types) and
 * adapter_model.safetensors (bytes, JSON header, NaN / Inf / huge values) of an adapter for the tiny llama model;
 * read by `cli logits --adapter` (applied on the GPU) or `cli export` (converted to peft / mlx / gguf files).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mutateBytes, mutateJson, pick } from '../mutate.ts';
import type { Corpus, FuzzCase, FuzzTarget } from '../target.ts';
import { copySeed, joinSafetensors, logitsCase, splitSafetensors } from './common.ts';

export const peftTarget: FuzzTarget<Corpus> = {
  name: 'peft',
  description: 'PEFT folder (adapter_config.json, adapter_model.safetensors) for the tiny llama; cli logits / export',
  prepare: async (corpus) => corpus,
  async seedCase(corpus, dir) {
    const model = await copySeed(corpus.model, dir, 'model', (f) => !f.endsWith('.gguf'));
    const adapter = await copySeed(corpus.adapter, dir, 'adapter');
    return logitsCase(dir, model, ['adapter/adapter_config.json'], 'seed', adapter);
  },
  async makeCase(corpus, rng, dir): Promise<FuzzCase> {
    const model = await copySeed(corpus.model, dir, 'model', (f) => !f.endsWith('.gguf'));
    const adapter = await copySeed(corpus.adapter, dir, 'adapter');
    const configPath = join(adapter, 'adapter_config.json');
    const weightsPath = join(adapter, 'adapter_model.safetensors');
    const r = rng.int(0, 10);
    let note: string;
    let file: string;
    if (r < 2) {
      const config = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
      const key = pick(rng, ['lora_alpha', 'r', 'lora_dropout', 'target_modules', 'layers_to_transform']);
      const value = pick(rng, [1e308, -1, 0, 1e9, 2 ** 31, 1.5, 'all-linear', ['q_proj', 'nope'], [99], null]);
      config[key] = value;
      await writeFile(configPath, JSON.stringify(config));
      note = `${key} = ${JSON.stringify(value)}`;
      file = 'adapter/adapter_config.json';
    } else if (r < 5) {
      const m = mutateJson(rng, await readFile(configPath, 'utf8'));
      await writeFile(configPath, m.text);
      note = `config ${m.note}`;
      file = 'adapter/adapter_config.json';
    } else {
      const bytes = new Uint8Array(await readFile(weightsPath));
      const parts = splitSafetensors(bytes)!;
      file = 'adapter/adapter_model.safetensors';
      if (r < 7) {
        const m = mutateBytes(rng, bytes, [0, 8 + parts.header.length]);
        await writeFile(weightsPath, m.bytes);
        note = m.note;
      } else if (r < 8) {
        const m = mutateJson(rng, parts.header);
        await writeFile(weightsPath, joinSafetensors(m.text, parts.data));
        note = `header ${m.note}`;
      } else {
        const out = bytes.slice();
        const v = new DataView(out.buffer, 8 + parts.header.length);
        const value = pick(rng, [Number.NaN, Infinity, -Infinity, 1e30, 3e38]);
        v.setFloat32(4 * rng.int(0, parts.data.byteLength / 4), value, true);
        await writeFile(weightsPath, out);
        note = `one value ${value}`;
      }
    }
    if (rng.next() < 0.6) return logitsCase(dir, model, [file], note, adapter);
    const format = pick(rng, ['peft', 'mlx', 'gguf']);
    return {
      argv: ['export', '--adapter', adapter, '--model', model, '--format', format, '--out', join(dir, 'out')],
      files: [file],
      note: `${note}; export ${format}`,
    };
  },
};
