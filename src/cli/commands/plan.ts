/**
 * `npm run cli -- plan --model DIR_OR_CONFIG_OR_GGUF --quant nf4 --seq 2048 --rank 16 [--batch 1] [--checkpointing]
 * [--top-layers N] [--json]`. A .gguf file is planned from its metadata and its tensors' own types (a K-quant stays
 * in its type on the GPU at --quant none, so it is counted as stored).
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { formatBytes } from '../../gpu/info.ts';
import { parameterCount, parseModelConfig } from '../../model/config.ts';
import { checkpointStoredTypes, openCheckpoint } from '../../model/checkpoint.ts';
import { type PlanRequest, type QuantChoice, planMemory } from '../../model/plan.ts';
import { NodeFolderModelSource } from '../../model/source-node.ts';
import { choiceFlag, numberFlag, parseArgs, stringFlag } from '../args.ts';
import type { CliCommand } from './types.ts';

export function readConfig(path: string): unknown {
  const file = statSync(path).isDirectory() ? join(path, 'config.json') : path;
  return JSON.parse(readFileSync(file, 'utf8'));
}

export const command: CliCommand = {
  summary: 'print the GPU memory plan of a model for a training setup',
  async run(argv) {
    const args = parseArgs(argv, ['checkpointing', 'json']);
    const model = stringFlag(args, 'model');
    if (!model) throw new Error('plan needs --model DIR_OR_CONFIG_JSON (or a .gguf file)');
    let desc;
    let storedTypes: PlanRequest['storedTypes'];
    if (model.toLowerCase().endsWith('.gguf')) {
      const ckpt = await openCheckpoint(await NodeFolderModelSource.open(model));
      desc = ckpt.desc;
      storedTypes = checkpointStoredTypes(ckpt);
      await ckpt.close();
    } else desc = parseModelConfig(readConfig(model));
    const plan = planMemory(desc, {
      ...(storedTypes ? { storedTypes } : {}),
      quant: choiceFlag<QuantChoice>(args, 'quant', ['none', 'q8_0', 'q4_0', 'nf4'], 'nf4'),
      seq: numberFlag(args, 'seq', 2048)!,
      rank: numberFlag(args, 'rank', 16)!,
      batch: numberFlag(args, 'batch', 1)!,
      checkpointing: args.flags.has('checkpointing'),
      ...(args.flags.has('top-layers') ? { topLayers: numberFlag(args, 'top-layers')! } : {}),
    });
    if (args.flags.has('json')) {
      process.stdout.write(
        `${JSON.stringify({ total_bytes: plan.total_bytes, by_category: plan.by_category, phase_bytes: plan.phase_bytes })}\n`,
      );
      return 0;
    }
    const s = plan.settings;
    const lines = [
      `${desc.arch}: ${(parameterCount(desc) / 1e9).toFixed(2)}B parameters, ${desc.layers} layers, C=${desc.hidden}, I=${desc.intermediate}, V=${desc.vocab}`,
      `stored ${s.stored}, projections ${s.quant === 'none' ? s.stored : s.quant}, embeddings ${s.embeddings ?? (s.quant === 'none' ? s.stored : 'q8_0')}, rank ${s.rank} on ${s.targets.length} modules × ${s.loraLayers.length} layers, ` +
        `batch ${s.batch} × seq ${s.seq}, checkpointing ${s.checkpointing ? 'on' : 'off'}`,
      '',
      ...Object.entries(plan.by_category).map(([k, v]) => `  ${k.padEnd(12)} ${formatBytes(v).padStart(11)}`),
      `  ${'train peak'.padEnd(12)} ${formatBytes(plan.phase_bytes.train).padStart(11)}`,
      `  ${'generate'.padEnd(12)} ${formatBytes(plan.phase_bytes.generate).padStart(11)}`,
      `  ${'total'.padEnd(12)} ${formatBytes(plan.total_bytes).padStart(11)}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
};
