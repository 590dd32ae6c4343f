/**
 * `npm run cli -- train --model DIR --data PATH [--preset NAME] [--config FILE] --out DIR [flags]` trains a LoRA
 * adapter in Node with the same engine as the app and writes the PEFT folder plus metrics.jsonl (one line per step
 * with step and loss, one per evaluation with val_loss). Flags (names from mlx-lm / PEFT) override the config file,
 * which overrides the preset: --rank --alpha --dropout --targets q_proj,v_proj --layers N --lr --weight-decay --warmup
 * --steps --epochs --batch --grad-accum --max-length --seed --quant --eval-every --mask answers|last|all;
 * at each evaluation --samples K validation prompts are answered (--sample-tokens N) and checked with --validator KIND;
 * --adapter DIR continues training an existing PEFT adapter; --resume FILE continues from a checkpoint.safetensors
 * (written to --out at every save point) with the same data and flags. --out also gets run.json (model, data, config,
 * import settings; --model-id / --revision name the Hub copy of the model), which `cli export-run --run DIR` reads.
 */
import { constants } from 'node:fs';
import { appendFile, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { importDataset } from '../../data/import.ts';
import { filesFromPaths } from '../../data/node-files.ts';
import { loadTokenizer } from '../../data/tokenizer.ts';
import { nodeGpu } from '../../gpu/node.ts';
import { GpuRuntime } from '../../gpu/runtime.ts';
import { loadPeftDir } from '../../model/lora-peft-node.ts';
import { NodeFolderModelSource } from '../../model/source-node.ts';
import { RUN_FILE, type RunSpec } from '../../schema/scale-out.ts';
import { PRESETS, type PresetName, type TrainConfigInput, trainConfig } from '../../schema/train.ts';
import { exportPeft } from '../../train/export.ts';
import { TrainingSession } from '../../train/session.ts';
import type { ValidatorKind } from '../../validate/types.ts';
import { type ParsedArgs, numberFlag, parseArgs, stringFlag } from '../args.ts';
import { checkOutputFolder, writeInFolder } from '../output-folder.ts';
import { forTerminal } from '../terminal.ts';
import type { CliCommand } from './types.ts';

/** metrics.jsonl is appended to, never through a link. */
const APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0);

/** Flags → a partial config (only the flags given). */
export function flagOverrides(args: ParsedArgs): TrainConfigInput {
  const n = (name: string) => numberFlag(args, name);
  const lora: NonNullable<TrainConfigInput['lora']> = {};
  const optim: NonNullable<TrainConfigInput['optim']> = {};
  const out: TrainConfigInput = {};
  if (args.flags.has('rank')) lora.rank = n('rank')!;
  if (args.flags.has('alpha')) lora.alpha = n('alpha')!;
  if (args.flags.has('dropout')) lora.dropout = n('dropout')!;
  if (args.flags.has('targets'))
    lora.targets = stringFlag(args, 'targets')!
      .split(',')
      .map((t) => t.trim()) as NonNullable<typeof lora.targets>;
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
  if (args.flags.has('save-every')) out.saveEvery = n('save-every')!;
  if (args.flags.has('pack')) out.pack = true;
  return { ...out, lora, optim };
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
    if (preset !== null && !(preset in PRESETS))
      throw new Error(`--preset must be one of ${Object.keys(PRESETS).join(', ')}`);
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
    const adapterDir = stringFlag(args, 'adapter');
    const outReal = await checkOutputFolder(outDir, [
      { role: 'the model', path: modelDir },
      ...(adapterDir ? [{ role: 'the adapter', path: adapterDir }] : []),
    ]);
    const tokenizer = await loadTokenizer((name) => source.readText(name));
    const imported = await importDataset(
      await filesFromPaths([data]),
      {
        maxLength: config.maxLength,
        seed: config.seed,
        ...(args.flags.has('mask') ? { mask: stringFlag(args, 'mask') as 'answers' } : {}),
      },
      { tokenizer },
    );
    // run.json: what `cli export-run --run DIR` needs to hand this run over (src/schema/scale-out.ts).
    const spec: RunSpec = {
      model: resolve(modelDir),
      ...(stringFlag(args, 'model-id') ? { modelId: stringFlag(args, 'model-id')! } : {}),
      revision: stringFlag(args, 'revision') ?? null,
      data: [resolve(data)],
      preset: preset as PresetName | null,
      config,
      import: imported.settings,
      counts: { train: imported.counts.train, valid: imported.counts.valid },
    };
    await writeInFolder(outReal, RUN_FILE, `${JSON.stringify(spec, null, 2)}\n`);
    for (const p of imported.problems.slice(0, 20))
      process.stderr.write(forTerminal(`skipped ${p.file}${p.line ? `:${p.line}` : ''}: ${p.reason}\n`));
    const validatorFlag = stringFlag(args, 'validator');
    if (validatorFlag && !['asp', 'dot', 'json', 'sql'].includes(validatorFlag))
      throw new Error('--validator must be asp, dot, json or sql');
    const resumeFile = stringFlag(args, 'resume');

    const rt = await GpuRuntime.create(await nodeGpu({ cpuFallback: true }), { label: 'cli-train' });
    try {
      const session = await TrainingSession.open({
        rt,
        source,
        modelName: source.name,
        records: imported.records,
        settings: imported.settings,
        config,
        // --adapter DIR continues training a PEFT adapter (its rank, alpha, targets and layers replace the config's).
        ...(adapterDir
          ? {
              adapter: async (r, d) => {
                const lora = await loadPeftDir(r, d, adapterDir);
                config.lora = {
                  ...config.lora,
                  rank: lora.settings.rank,
                  alpha: lora.settings.alpha,
                  rslora: lora.settings.rslora,
                  targets: [...lora.settings.targets],
                  layers: [...lora.settings.layers],
                };
                return lora;
              },
            }
          : {}),
        samples: {
          count: numberFlag(args, 'samples', 2)!,
          maxNewTokens: numberFlag(args, 'sample-tokens', 32)!,
          validator: (validatorFlag ?? null) as ValidatorKind | null,
        },
      });
      // An adapter to continue brings its own LoRA settings (config.lora was replaced): record those.
      if (adapterDir) await writeInFolder(outReal, RUN_FILE, `${JSON.stringify(spec, null, 2)}\n`);
      const metricsPath = join(outReal, 'metrics.jsonl');
      if (resumeFile) {
        const state = await session.restore(await readFile(resumeFile));
        process.stderr.write(`resuming at step ${state.step} from ${forTerminal(resumeFile)}\n`);
      } else {
        await writeInFolder(outReal, 'metrics.jsonl', '');
      }
      const steps = session.totalSteps;
      let last: number | null = null;
      let lastVal: number | null = null;
      process.stderr.write(
        `training ${session.engine.weights.desc.arch} on ${session.train.length} rows (${session.valid.length} validation), ${steps} steps of ${config.microBatch} × ${config.gradAccum}\n`,
      );
      await session.run({
        onMetric: async (m) => {
          if (m.kind === 'step') {
            last = m.loss;
            await appendFile(
              metricsPath,
              `${JSON.stringify({ step: m.step, loss: m.loss, lr: m.lr, grad_norm: m.gradNorm, tokens: m.tokens, tokens_per_sec: m.tokensPerSec, epoch: m.epoch, elapsed_ms: m.elapsedMs })}\n`,
              { flag: APPEND },
            );
            process.stderr.write(`step ${m.step}/${steps} loss ${m.loss.toFixed(4)} lr ${m.lr.toExponential(2)}\n`);
          } else if (m.kind === 'eval') {
            lastVal = m.valLoss;
            await appendFile(
              metricsPath,
              `${JSON.stringify({ step: m.step, val_loss: m.valLoss, val_tokens: m.valTokens })}\n`,
              { flag: APPEND },
            );
            process.stderr.write(`step ${m.step} val_loss ${m.valLoss.toFixed(4)}\n`);
          } else {
            await appendFile(
              metricsPath,
              `${JSON.stringify({ step: m.step, samples: m.samples, validity: m.validity })}\n`,
              { flag: APPEND },
            );
            if (m.validity !== null)
              process.stderr.write(
                `step ${m.step} validity ${(100 * m.validity).toFixed(0)}% of ${m.samples.length} samples\n`,
              );
          }
        },
        // The newest checkpoint, to continue with --resume FILE.
        onCheckpoint: (bytes) => writeInFolder(outReal, 'checkpoint.safetensors', bytes),
      });
      const files = await exportPeft(rt, session.lora, {
        baseModel: source.name,
        data,
        config,
        steps,
        finalLoss: last,
        finalValLoss: lastVal,
      });
      for (const f of files) await writeInFolder(outReal, f.name, f.bytes);
      session.destroy();
      process.stderr.write(
        `wrote ${files.map((f) => f.name).join(', ')}, metrics.jsonl and checkpoint.safetensors to ${forTerminal(outDir)}\n`,
      );
      return 0;
    } finally {
      rt.destroy();
    }
  },
};
