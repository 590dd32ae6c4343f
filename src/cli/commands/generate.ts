/**
 * `npm run cli -- generate --model DIR [--adapter DIR] --prompt TEXT [--chat] [--max-tokens N]
 *   [--temperature T] [--top-k K] [--top-p P] [--repetition-penalty R] [--seed S] [--quant none|q8_0|q4_0|nf4]`
 * streams the generated text to stdout.
 */
import { loadTokenizer } from '../../data/tokenizer.ts';
import { nodeGpu } from '../../gpu/node.ts';
import { GpuRuntime } from '../../gpu/runtime.ts';
import { generate } from '../../model/generate.ts';
import { stopTokenIds } from '../../model/generation-config.ts';
import { loadModel } from '../../model/loader.ts';
import { loadPeftDir } from '../../model/lora-peft-node.ts';
import { ModelEngine } from '../../model/model.ts';
import type { QuantChoice } from '../../model/plan.ts';
import { NodeFolderModelSource } from '../../model/source-node.ts';
import { choiceFlag, numberFlag, parseArgs, stringFlag } from '../args.ts';
import type { CliCommand } from './types.ts';

export const command: CliCommand = {
  summary: 'generate text from a prompt (optionally with a PEFT adapter, or as a chat turn)',
  async run(argv) {
    const args = parseArgs(argv, ['chat']);
    const modelDir = stringFlag(args, 'model');
    const prompt = stringFlag(args, 'prompt');
    if (!modelDir || prompt === undefined) throw new Error('generate needs --model DIR --prompt TEXT');
    const maxNewTokens = numberFlag(args, 'max-tokens', 128)!;
    const source = await NodeFolderModelSource.open(modelDir);
    const tokenizer = await loadTokenizer((name) => source.readText(name));
    const ids = args.flags.has('chat')
      ? tokenizer.encode(
          tokenizer.renderChat([{ role: 'user', content: prompt }], { addGenerationPrompt: true }),
          false,
        )
      : tokenizer.encode(prompt, true);
    const rt = await GpuRuntime.create(await nodeGpu({ cpuFallback: true }), { label: 'cli-generate' });
    try {
      const { weights } = await loadModel(rt, source, {
        quant: choiceFlag<QuantChoice>(args, 'quant', ['none', 'q8_0', 'q4_0', 'nf4'], 'none'),
      });
      const adapterDir = stringFlag(args, 'adapter');
      let lora = null;
      if (adapterDir) {
        lora = await loadPeftDir(rt, weights.desc, adapterDir);
      }
      const engine = new ModelEngine(rt, weights, 1, ids.length + maxNewTokens, lora, 'inference');
      const eos = stopTokenIds(weights.desc, await source.readText('generation_config.json'), tokenizer.eosTokenId);
      let text = '';
      const out: number[] = [];
      const result = await generate(rt, engine, ids, {
        maxNewTokens,
        eosTokenIds: eos,
        temperature: numberFlag(args, 'temperature', 0)!,
        ...(args.flags.has('top-k') ? { topK: numberFlag(args, 'top-k')! } : {}),
        ...(args.flags.has('top-p') ? { topP: numberFlag(args, 'top-p')! } : {}),
        ...(args.flags.has('repetition-penalty') ? { repetitionPenalty: numberFlag(args, 'repetition-penalty')! } : {}),
        seed: numberFlag(args, 'seed', 0)!,
        onToken: (t) => {
          if (eos.includes(t)) return;
          out.push(t);
          const full = tokenizer.decode(out, true);
          process.stdout.write(full.slice(text.length));
          text = full;
        },
      });
      process.stdout.write('\n');
      process.stderr.write(`${result.tokens.length} tokens, stopped: ${result.stop}\n`);
      return 0;
    } finally {
      rt.destroy();
    }
  },
};
