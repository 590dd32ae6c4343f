/**
 * `npm run cli -- train --model DIR --data PATH [--preset NAME] [--config FILE] --out DIR [flags]` trains a LoRA
 * adapter in Node with the same engine as the app and writes the PEFT folder plus metrics.jsonl (one line per step
 * with step and loss, one per evaluation with val_loss). Flags (names from mlx-lm / PEFT) override the config file,
 * which overrides the preset: --rank --alpha --dropout --targets q_proj,v_proj --layers N --lr --weight-decay --warmup
 * --steps --epochs --batch --grad-accum --max-length --seed --quant --eval-every --mask answers|last|all;
 * at each evaluation --samples K validation prompts are answered (--sample-tokens N) and checked with --validator KIND;
 * --adapter DIR continues training an existing PEFT adapter.
 */
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { importDataset } from '../../data/import.ts';
import { filesFromPaths } from '../../data/node-files.ts';
import { loadTokenizer } from '../../data/tokenizer.ts';
import { trainingExample } from '../../data/tokenize.ts';
import { nodeGpu } from '../../gpu/node.ts';
import { GpuRuntime } from '../../gpu/runtime.ts';
import { loadModel } from '../../model/loader.ts';
import { createLora, peftInit } from '../../model/lora-state.ts';
import { loadPeftDir } from '../../model/lora-peft-node.ts';
import { ModelEngine } from '../../model/model.ts';
import { NodeFolderModelSource } from '../../model/source-node.ts';
import { PRESETS, type PresetName, type TrainConfigInput, trainConfig } from '../../schema/train.ts';
import type { Example } from '../../train/batches.ts';
import { exportPeft } from '../../train/export.ts';
import { runTraining, totalSteps } from '../../train/run.ts';
import { sampleGenerations } from '../../train/samples.ts';
import { stopTokenIds } from '../../model/generation-config.ts';
import type { ValidatorKind } from '../../validate/types.ts';
import { LoraTrainer } from '../../train/trainer.ts';
import { type ParsedArgs, numberFlag, parseArgs, stringFlag } from '../args.ts';
import type { CliCommand } from './types.ts';

/** Flags → a partial config (only the flags given). */
export function flagOverrides(args: ParsedArgs): TrainConfigInput {
  const n = (name: string) => numberFlag(args, name);
  const lora: NonNullable<TrainConfigInput['lora']> = {};
  const optim: NonNullable<TrainConfigInput['optim']> = {};
  const out: TrainConfigInput = {};
  if (args.flags.has('rank')) lora.rank = n('rank')!;
  if (args.flags.has('alpha')) lora.alpha = n('alpha')!;
  if (args.flags.has('dropout')) lora.dropout = n('dropout')!;
  if (args.flags.has('targets')) lora.targets = stringFlag(args, 'targets')!.split(',').map((t) => t.trim()) as NonNullable<typeof lora.targets>;
  if (args.flags.has('layers')) lora.layers = { top: n('layers')! };
  if (args.flags.has('lr')) optim.lr = n('lr')!;
  if (args.flags.has('weight-decay')) optim.weightDecay = n('weight-decay')!;
  if (args.flags.has('warmup')) optim.warmupSteps = n('warmup')!;
  if (args.flags.has('steps')) out.steps = n('steps')!;
  if (args.flags.has('epochs')) out.epochs = n('epochs')!;
  if (args.flags.has('batch')) out.microBatch = n('batch')!;
  if (args.flags.has('grad-accum')) out.gradAccum = n('grad-accum')!;
  if (args.flags.has('max-length')) out.maxLength = n('max-length')!;
  if (args.flags.has('seed')) out.seed = n('seed')!;
  if (args.flags.has('eval-every')) out.evalEvery = n('eval-every')!;
  if (args.flags.has('quant')) out.base = stringFlag(args, 'quant') as TrainConfigInput['base'];
  return { ...out, lora, optim };
}

function layerIndices(layers: 'all' | { top: number } | number[], total: number): number[] {
  if (layers === 'all') return Array.from({ length: total }, (_, i) => i);
  if (Array.isArray(layers)) return layers;
  const top = Math.min(total, layers.top);
  return Array.from({ length: top }, (_, i) => total - top + i);
}

export const command: CliCommand = {
  summary: 'train a LoRA adapter on a dataset and write the PEFT folder and metrics.jsonl',
  async run(argv) {
    const args = parseArgs(argv);
    const modelDir = stringFlag(args, 'model');
    const data = stringFlag(args, 'data');
    const outDir = stringFlag(args, 'out');
    if (!modelDir || !data || !outDir) throw new Error('train needs --model DIR --data PATH --out DIR');
    const preset = stringFlag(args, 'preset') ?? null;
    if (preset !== null && !(preset in PRESETS)) throw new Error(`--preset must be one of ${Object.keys(PRESETS).join(', ')}`);
    const configFile = stringFlag(args, 'config');
    const fromFile = configFile ? (JSON.parse(await readFile(configFile, 'utf8')) as TrainConfigInput) : {};
    const flags = flagOverrides(args);
    const config = trainConfig(preset as PresetName | null, {
      ...fromFile,
      ...flags,
      lora: { ...(fromFile.lora ?? {}), ...flags.lora },
      optim: { ...(fromFile.optim ?? {}), ...flags.optim },
    });

    const source = await NodeFolderModelSource.open(modelDir);
    const tokenizer = await loadTokenizer((name) => source.readText(name));
    const imported = await importDataset(await filesFromPaths([data]), { maxLength: config.maxLength, seed: config.seed, ...(args.flags.has('mask') ? { mask: stringFlag(args, 'mask') as 'answers' } : {}) }, { tokenizer });
    for (const p of imported.problems.slice(0, 20)) process.stderr.write(`skipped ${p.file}${p.line ? `:${p.line}` : ''}: ${p.reason}\n`);
    const examples = (split: string): Example[] =>
      imported.records.filter((r) => r.split === split).flatMap((r) => {
        const e = trainingExample(tokenizer, r, imported.settings);
        return e ? [e] : [];
      });
    const train = examples('train');
    const valid = examples('valid');
    const T = Math.max(2, ...train.map((e) => e.ids.length), ...valid.map((e) => e.ids.length));

    const rt = await GpuRuntime.create(await nodeGpu({ cpuFallback: true }), { label: 'cli-train' });
    try {
      const { weights } = await loadModel(rt, source, { quant: config.base });
      const d = weights.desc;
      // --adapter DIR continues training a PEFT adapter (its rank, alpha, targets and layers replace the config's).
      const adapterDir = stringFlag(args, 'adapter');
      let lora;
      if (adapterDir) {
        lora = await loadPeftDir(rt, d, adapterDir);
        config.lora = { ...config.lora, rank: lora.settings.rank, alpha: lora.settings.alpha, rslora: lora.settings.rslora, targets: [...lora.settings.targets], layers: [...lora.settings.layers] };
      } else {
        lora = createLora(rt, d, { ...config.lora, layers: layerIndices(config.lora.layers, d.layers) }, peftInit(config.seed));
      }
      const engine = new ModelEngine(rt, weights, config.microBatch, T, lora, config.checkpointing ? 'checkpointed' : 'train');
      const steps = totalSteps(config, train.length);
      // Sample generations at each evaluation: the first K validation conversations, answered greedily.
      const sampleCount = numberFlag(args, 'samples', 2)!;
      const sampleTokens = numberFlag(args, 'sample-tokens', 32)!;
      const validatorFlag = stringFlag(args, 'validator');
      if (validatorFlag && !['asp', 'dot', 'json', 'sql'].includes(validatorFlag)) throw new Error('--validator must be asp, dot, json or sql');
      const validator = (validatorFlag ?? null) as ValidatorKind | null;
      const eos = stopTokenIds(d, await source.readText('generation_config.json'), tokenizer.eosTokenId);
      const samplePrompts = imported.records
        .filter((r): r is Extract<typeof r, { kind: 'chat' }> => r.split === 'valid' && r.kind === 'chat')
        .slice(0, sampleCount)
        .map((r) => ({ messages: r.messages.slice(0, r.messages.map((x) => x.role).lastIndexOf('assistant')) }))
        .filter((p) => p.messages.length > 0);
      const trainer = new LoraTrainer(rt, engine, lora, config, steps);
      await mkdir(outDir, { recursive: true });
      const metricsPath = join(outDir, 'metrics.jsonl');
      await writeFile(metricsPath, '');
      let last: number | null = null;
      let lastVal: number | null = null;
      process.stderr.write(`training ${d.arch} on ${train.length} examples (${valid.length} validation), ${steps} steps of ${config.microBatch} × ${config.gradAccum}\n`);
      await runTraining({
        config,
        trainer,
        engine,
        train,
        valid,
        T,
        onMetric: async (m) => {
          if ('loss' in m) {
            last = m.loss;
            await appendFile(metricsPath, `${JSON.stringify({ step: m.step, loss: m.loss, lr: m.lr, grad_norm: m.gradNorm, tokens: m.tokens, epoch: m.epoch, elapsed_ms: m.elapsedMs })}\n`);
            process.stderr.write(`step ${m.step}/${steps} loss ${m.loss.toFixed(4)} lr ${m.lr.toExponential(2)}\n`);
          } else {
            lastVal = m.val_loss;
            await appendFile(metricsPath, `${JSON.stringify(m)}\n`);
            process.stderr.write(`step ${m.step} val_loss ${m.val_loss.toFixed(4)}\n`);
            if (samplePrompts.length > 0) {
              const r = await sampleGenerations(rt, engine, tokenizer, samplePrompts, { maxNewTokens: sampleTokens, eosTokenIds: eos, validator });
              await appendFile(metricsPath, `${JSON.stringify({ step: m.step, samples: r.samples, validity: r.validity })}\n`);
              if (r.validity !== null) process.stderr.write(`step ${m.step} validity ${(100 * r.validity).toFixed(0)}% of ${r.samples.length} samples\n`);
            }
          }
        },
      });
      const files = await exportPeft(rt, lora, { baseModel: source.name, data, config, steps, finalLoss: last, finalValLoss: lastVal });
      for (const f of files) await writeFile(join(outDir, f.name), f.bytes);
      process.stderr.write(`wrote ${files.map((f) => f.name).join(', ')} and metrics.jsonl to ${outDir}\n`);
      return 0;
    } finally {
      rt.destroy();
    }
  },
};
