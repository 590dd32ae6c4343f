/**
 * `npm run cli -- logits --model DIR [--adapter PEFT_DIR] [--quant none|q8_0|q4_0|nf4] --tokens 1,2,3 --out FILE`
 * writes {"tokens": [...], "logits": [[...] per position]}; a PEFT adapter is applied unmerged with its scaling.
 */
import { writeFile } from 'node:fs/promises';
import { nodeGpu } from '../../gpu/node.ts';
import { GpuRuntime } from '../../gpu/runtime.ts';
import { loadModel } from '../../model/loader.ts';
import { loadPeftDir } from '../../model/lora-peft-node.ts';
import { ModelEngine } from '../../model/model.ts';
import { QUANT_CHOICES, type QuantChoice } from '../../model/plan.ts';
import { NodeFolderModelSource } from '../../model/source-node.ts';
import { choiceFlag, parseArgs, stringFlag } from '../args.ts';
import type { CliCommand } from './types.ts';

export const command: CliCommand = {
  summary: 'write the logits of a token sequence (optionally with a PEFT adapter) as JSON',
  async run(argv) {
    const args = parseArgs(argv, { values: ['model', 'tokens', 'out', 'quant', 'adapter'] }, 'logits');
    const modelDir = stringFlag(args, 'model');
    const tokensText = stringFlag(args, 'tokens');
    const out = stringFlag(args, 'out');
    if (!modelDir || !tokensText || !out) throw new Error('logits needs --model DIR --tokens 1,2,3 --out FILE');
    const tokens = tokensText.split(',').map((t) => {
      const n = Number(t.trim());
      if (!Number.isInteger(n) || n < 0) throw new Error(`--tokens: "${t}" is not a token id`);
      return n;
    });
    const quant = choiceFlag<QuantChoice>(args, 'quant', QUANT_CHOICES, 'none');
    const rt = await GpuRuntime.create(await nodeGpu({ cpuFallback: true }), { label: 'cli-logits' });
    try {
      const { weights } = await loadModel(rt, await NodeFolderModelSource.open(modelDir), { quant });
      const adapterDir = stringFlag(args, 'adapter');
      let lora = null;
      if (adapterDir) {
        lora = await loadPeftDir(rt, weights.desc, adapterDir);
      }
      const engine = new ModelEngine(rt, weights, 1, tokens.length, lora, 'inference');
      const flat = await engine.logits({ ids: Uint32Array.from(tokens), B: 1, T: tokens.length });
      const V = weights.desc.vocab;
      const bad = flat.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0)
        throw new Error(
          `the model produced a non-finite logit (${flat[bad]} at position ${Math.floor(bad / V)}, token ${bad % V})${adapterDir ? ` with the adapter ${adapterDir}` : ''}: its weights overflow in float32; nothing was written`,
        );
      const logits = tokens.map((_, t) => Array.from(flat.subarray(t * V, (t + 1) * V)));
      await writeFile(out, JSON.stringify({ tokens, logits }));
      process.stderr.write(`wrote ${tokens.length} × ${V} logits to ${out}\n`);
      return 0;
    } finally {
      rt.destroy();
    }
  },
};
