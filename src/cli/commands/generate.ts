/**
 * `npm run cli -- generate --model DIR [--adapter DIR[,DIR…]] --prompt TEXT [--chat] [--system-prompt TEXT]
 *   [--max-tokens N] [--temperature T] [--top-k K] [--top-p P] [--repetition-penalty R] [--seed S]
 *   [--quant none|q8_0|q4_0|nf4|f16|bf16]`
 * streams the generated text to stdout. With several adapters (`--adapter a,b,c`) the model is loaded once and each
 * adapter answers in turn, under a `### adapter DIR` line. `--system-prompt` implies `--chat`; a template without a
 * system role (Gemma 2) gets it folded into the user turn, as training folds it.
 */
import { loadTokenizer } from '../../data/tokenizer.ts';
import { nodeGpu } from '../../gpu/node.ts';
import { GpuRuntime } from '../../gpu/runtime.ts';
import { generate } from '../../model/generate.ts';
import { stopTokenIds } from '../../model/generation-config.ts';
import { loadModel } from '../../model/loader.ts';
import { loadPeftDir } from '../../model/lora-peft-node.ts';
import { ModelEngine } from '../../model/model.ts';
import { QUANT_CHOICES } from '../../model/plan.ts';
import { NodeFolderModelSource } from '../../model/source-node.ts';
import type { Message } from '../../schema/dataset.ts';
import { UsageError, choiceFlag, listFlag, numberFlag, parseArgs, stringFlag } from '../args.ts';
import type { CliCommand } from './types.ts';

const FLAGS = {
  values: [
    'model',
    'adapter',
    'prompt',
    'system-prompt',
    'max-tokens',
    'temperature',
    'top-k',
    'top-p',
    'repetition-penalty',
    'seed',
    'quant',
  ],
  booleans: ['chat'],
} as const;

export const command: CliCommand = {
  summary: 'generate text from a prompt (with one or several PEFT adapters, or as a chat turn)',
  async run(argv) {
    const args = parseArgs(argv, FLAGS, 'generate');
    const modelDir = stringFlag(args, 'model');
    const prompt = stringFlag(args, 'prompt');
    if (!modelDir || prompt === undefined) throw new UsageError('generate needs --model DIR --prompt TEXT');
    const maxNewTokens = numberFlag(args, 'max-tokens', 128)!;
    const system = stringFlag(args, 'system-prompt');
    const adapters = listFlag(args, 'adapter');
    const source = await NodeFolderModelSource.open(modelDir);
    const tokenizer = await loadTokenizer((name) => source.readText(name));
    const messages: Message[] = [
      ...(system ? [{ role: 'system' as const, content: system }] : []),
      { role: 'user', content: prompt },
    ];
    const ids =
      args.flags.has('chat') || system !== undefined
        ? tokenizer.encode(tokenizer.renderChatFolded(messages, { addGenerationPrompt: true }).text, false)
        : tokenizer.encode(prompt, true);
    const rt = await GpuRuntime.create(await nodeGpu({ cpuFallback: true }), { label: 'cli-generate' });
    try {
      const { weights } = await loadModel(rt, source, { quant: choiceFlag(args, 'quant', QUANT_CHOICES, 'none') });
      const eos = stopTokenIds(weights.desc, await source.readText('generation_config.json'), tokenizer.eosTokenId);
      for (const [i, adapterDir] of (adapters.length > 0 ? adapters : [null]).entries()) {
        const owner = `cli-generate/adapter${i}`;
        const lora = adapterDir ? await loadPeftDir(rt, weights.desc, adapterDir, owner) : null;
        if (adapters.length > 1) process.stdout.write(`${i > 0 ? '\n' : ''}### adapter ${adapterDir}\n`);
        const engine = new ModelEngine(rt, weights, 1, ids.length + maxNewTokens, lora, 'inference');
        let text = '';
        const out: number[] = [];
        const result = await generate(rt, engine, ids, {
          maxNewTokens,
          eosTokenIds: eos,
          temperature: numberFlag(args, 'temperature', 0)!,
          ...(args.flags.has('top-k') ? { topK: numberFlag(args, 'top-k')! } : {}),
          ...(args.flags.has('top-p') ? { topP: numberFlag(args, 'top-p')! } : {}),
          ...(args.flags.has('repetition-penalty')
            ? { repetitionPenalty: numberFlag(args, 'repetition-penalty')! }
            : {}),
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
        process.stderr.write(
          `${adapterDir ? `${adapterDir}: ` : ''}${result.tokens.length} tokens, stopped: ${result.stop}\n`,
        );
        engine.destroy();
        rt.memory.destroyOwner(owner);
      }
      return 0;
    } finally {
      rt.destroy();
    }
  },
};
