/** The fuzzer's valid seed inputs, written once per run (see Corpus in ./target.ts). */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { peftConfigJson, peftWeights } from '../../src/formats/peft.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { makeTinyModel } from '../fixtures/make-models.ts';
import { randomAdapter } from '../fixtures/random-adapter.ts';
import { Rng } from '../harness/rng.ts';
import type { Corpus } from './target.ts';

const CHAT_ROWS = [
  [
    { role: 'system', content: 'You answer briefly.' },
    { role: 'user', content: 'What is two plus two?' },
    { role: 'assistant', content: 'Four.' },
  ],
  [
    { role: 'user', content: 'Name a colour.' },
    { role: 'assistant', content: 'Blue.' },
  ],
  [
    { role: 'user', content: 'Say hello in French.' },
    { role: 'assistant', content: 'Bonjour.' },
    { role: 'user', content: 'And in Spanish?' },
    { role: 'assistant', content: 'Hola.' },
  ],
];

export async function buildCorpus(dir: string): Promise<Corpus> {
  const model = join(dir, 'seed-model');
  const tiny = await makeTinyModel('llama', model, { seed: 5, gguf: ['F32', 'Q8_0'] });
  const sharded = join(dir, 'seed-sharded');
  await makeTinyModel('qwen3', sharded, { seed: 6, sharded: true });
  const adapter = join(dir, 'seed-adapter');
  await mkdir(adapter, { recursive: true });
  const e = randomAdapter(parseModelConfig(tiny.config), new Rng(7), {
    rank: 2,
    targets: ['q_proj', 'v_proj', 'down_proj'],
    range: 0.05,
    baseModel: 'tiny/llama',
  });
  await writeFile(join(adapter, 'adapter_model.safetensors'), peftWeights(e));
  await writeFile(join(adapter, 'adapter_config.json'), peftConfigJson(e));
  const chatData = join(dir, 'seed-chat.jsonl');
  await writeFile(chatData, `${CHAT_ROWS.map((messages) => JSON.stringify({ messages })).join('\n')}\n`);
  return {
    dir,
    model,
    sharded,
    gguf: Object.values(tiny.ggufFiles).map((f) => join(model, f)),
    adapter,
    chatData,
  };
}
