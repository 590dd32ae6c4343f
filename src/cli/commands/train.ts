/**
 * `npm run cli -- train --model DIR --data PATH [--preset NAME] [--config FILE] --out DIR [flags]` trains a LoRA
 * adapter in Node with the same engine as the app and writes the PEFT folder plus metrics.jsonl (one line per step
 * with step and loss, one per evaluation with val_loss). Flags (names from mlx-lm / PEFT) override the config file,
 * which overrides the preset: --rank --alpha (or --scale, mlx-lm's alpha / rank) --dropout --targets q_proj,v_proj
 * --layers N --lr --weight-decay --warmup --steps --epochs --batch --grad-accum --max-length --seed
 * --quant none|q8_0|q4_0|nf4|f16|bf16 --eval-every --eval-batches --save-every --pack; the dataset's import settings as in
 * `data` (--split --test --split-by --over-length --mask --format --system-prompt); --repair-pairs KIND and
 * --variants FILE add rows split by split; at each evaluation --samples K validation prompts are answered
 * (--sample-tokens N) and checked with --validator KIND; --adapter DIR continues training an existing PEFT adapter;
 * --resume FILE continues from a checkpoint (the newest is checkpoint.safetensors, the last --keep-checkpoints N are
 * in checkpoints/). A failure during training or evaluation still writes the adapter and a checkpoint of the last
 * finished step. --out also gets run.json (model, data, config, import settings; --model-id / --revision name the
 * Hub copy of the model), which `cli export-run --run DIR` reads. Unknown flags are errors.
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
import type { DatasetRecord } from '../../schema/dataset.ts';
import { toMetricsJsonl } from '../../schema/metrics.ts';
import { RUN_FILE, type RunSpec } from '../../schema/scale-out.ts';
import { PRESET_TEXT, PRESETS, type PresetName, type TrainConfigInput, trainConfig } from '../../schema/train.ts';
import { addPromptVariants, addRepairPairs, parseVariantTemplates } from '../../train/augment.ts';
import { exportPeft } from '../../train/export.ts';
import { TrainingSession } from '../../train/session.ts';
import { createValidator } from '../../validate/registry.ts';
import { VALIDATOR_KINDS, type ValidatorKind } from '../../validate/types.ts';
import { type ParsedArgs, UsageError, choiceFlag, numberFlag, parseArgs, stringFlag } from '../args.ts';
import { IMPORT_FLAGS, importSettingsFromFlags } from '../import-flags.ts';
import { checkOutputFolder, writeInFolder } from '../output-folder.ts';
import { copyTokenizer, writeCheckpoint } from '../run-files.ts';
import { forTerminal } from '../terminal.ts';
import type { CliCommand } from './types.ts';

/** metrics.jsonl is appended to, never through a link. */
const APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0);

export const TRAIN_FLAGS = {
  values: [
    'model',
    'data',
    'out',
    'preset',
    'config',
    'rank',
    'alpha',
    'scale',
    'dropout',
    'targets',
    'layers',
    'lr',
    'weight-decay',
    'warmup',
    'steps',
    'epochs',
    'batch',
    'grad-accum',
    'max-length',
    'seed',
    'eval-every',
    'eval-batches',
    'quant',
    'save-every',
    'keep-checkpoints',
    'samples',
    'sample-tokens',
    'validator',
    'adapter',
    'resume',
    'repair-pairs',
    'variants',
    'model-id',
    'revision',
    ...IMPORT_FLAGS,
  ],
  booleans: ['pack'],
} as const;

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
  if (args.flags.has('eval-batches')) out.evalBatches = n('eval-batches')!;
  if (args.flags.has('quant')) out.base = stringFlag(args, 'quant') as TrainConfigInput['base'];
  if (args.flags.has('save-every')) out.saveEvery = n('save-every')!;
  if (args.flags.has('pack')) out.pack = true;
  return { ...out, lora, optim };
}

/** The config from the preset, the config file and the flags; `--scale S` (mlx-lm) becomes alpha = S × rank. */
export async function configFromFlags(args: ParsedArgs) {
  const preset = stringFlag(args, 'preset') ?? null;
  if (preset !== null && !(preset in PRESETS))
    throw new UsageError(
      `--preset must be one of:\n${Object.entries(PRESET_TEXT)
        .map(([k, v]) => `  ${k.padEnd(10)} ${v}`)
        .join('\n')}`,
    );
  const configFile = stringFlag(args, 'config');
  const fromFile = configFile ? (JSON.parse(await readFile(configFile, 'utf8')) as TrainConfigInput) : {};
  const flags = flagOverrides(args);
  if (args.flags.has('scale') && args.flags.has('alpha'))
    throw new UsageError('give --alpha or --scale (alpha = scale × rank), not both');
  const config = trainConfig(preset as PresetName | null, {
    ...fromFile,
    ...flags,
    lora: { ...(fromFile.lora ?? {}), ...flags.lora },
    optim: { ...(fromFile.optim ?? {}), ...flags.optim },
  });
  if (args.flags.has('scale')) {
    const scale = numberFlag(args, 'scale')!;
    const r = config.lora.rank;
    config.lora.alpha = scale * (config.lora.rslora ? Math.sqrt(r) : r);
  }
  return config;
}

function validatorFlag(args: ParsedArgs, name: string): ValidatorKind | null {
  return args.flags.has(name) ? choiceFlag(args, name, VALIDATOR_KINDS, 'asp') : null;
}

export const command: CliCommand = {
  summary: 'train a LoRA adapter on a dataset and write the PEFT folder and metrics.jsonl',
  async run(argv) {
    const args = parseArgs(argv, TRAIN_FLAGS, 'train');
    const modelDir = stringFlag(args, 'model');
    const data = stringFlag(args, 'data');
    const outDir = stringFlag(args, 'out');
    if (!modelDir || !data || !outDir) throw new UsageError('train needs --model DIR --data PATH --out DIR');
    const config = await configFromFlags(args);
    const validator = validatorFlag(args, 'validator');
    const repairKind = validatorFlag(args, 'repair-pairs');
    const variantsFile = stringFlag(args, 'variants');
    const keep = numberFlag(args, 'keep-checkpoints', 3)!;

    const source = await NodeFolderModelSource.open(modelDir);
    const adapterDir = stringFlag(args, 'adapter');
    const outReal = await checkOutputFolder(outDir, [
      { role: 'the model', path: modelDir },
      ...(adapterDir ? [{ role: 'the adapter', path: adapterDir }] : []),
    ]);
    const tokenizer = await loadTokenizer((name) => source.readText(name));
    const imported = await importDataset(
      await filesFromPaths([data]),
      { maxLength: config.maxLength, seed: config.seed, ...importSettingsFromFlags(args) },
      { tokenizer },
    );
    // run.json: what `cli export-run --run DIR` needs to hand this run over (src/schema/scale-out.ts).
    const spec: RunSpec = {
      model: resolve(modelDir),
      ...(stringFlag(args, 'model-id') ? { modelId: stringFlag(args, 'model-id')! } : {}),
      revision: stringFlag(args, 'revision') ?? null,
      data: [resolve(data)],
      preset: (stringFlag(args, 'preset') ?? null) as PresetName | null,
      config,
      import: imported.settings,
      counts: { train: imported.counts.train, valid: imported.counts.valid },
    };
    await writeInFolder(outReal, RUN_FILE, `${JSON.stringify(spec, null, 2)}\n`);
    for (const p of imported.problems.slice(0, 20))
      process.stderr.write(forTerminal(`skipped ${p.file}${p.line ? `:${p.line}` : ''}: ${p.reason}\n`));
    for (const d of imported.dropped.slice(0, 20))
      process.stderr.write(
        forTerminal(`left out ${d.source.file}:${d.source.line}: ${d.reason} (--over-length truncate keeps it, cut)\n`),
      );
    if (imported.counts.truncated > 0)
      process.stderr.write(
        `${imported.counts.truncated} rows cut to ${config.maxLength} tokens (--over-length truncate)\n`,
      );
    for (const w of imported.warnings) process.stderr.write(forTerminal(`note: ${w}\n`));
    if (imported.refusal) throw new Error(`nothing to train on: ${imported.refusal}`);
    let records: DatasetRecord[] = imported.records;
    if (variantsFile) {
      const v = addPromptVariants(records, parseVariantTemplates(await readFile(variantsFile, 'utf8')));
      records = v.records;
      process.stderr.write(`variants: ${v.added.train} train, ${v.added.valid} validation rows added\n`);
    }
    if (repairKind) {
      const r = await addRepairPairs(records, repairKind, createValidator(repairKind), { seed: config.seed + 1 });
      records = r.records;
      process.stderr.write(`repair pairs: ${r.added.train} train, ${r.added.valid} validation (made per split)\n`);
    }
    const resumeFile = stringFlag(args, 'resume');

    const rt = await GpuRuntime.create(await nodeGpu({ cpuFallback: true }), { label: 'cli-train' });
    try {
      const session = await TrainingSession.open({
        rt,
        source,
        modelName: source.name,
        records,
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
          validator,
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
      const writeAdapter = async () => {
        const files = await exportPeft(rt, session.lora, {
          baseModel: source.name,
          data,
          config,
          steps: session.step,
          finalLoss: last,
          finalValLoss: lastVal,
        });
        for (const f of files) await writeInFolder(outReal, f.name, f.bytes);
        // A raw-text adapter is used on plain text (mlx-lm, llama.cpp): the tokenizer travels with it.
        const tok = imported.kind === 'text' ? await copyTokenizer(source, outReal) : [];
        return [...files.map((f) => f.name), ...tok];
      };
      process.stderr.write(
        `training ${session.engine.weights.desc.arch} (${config.base} base) on ${session.train.length} rows (${session.valid.length} validation), ${steps} steps of ${config.microBatch} × ${config.gradAccum}\n`,
      );
      try {
        await session.run({
          onMetric: async (m) => {
            await appendFile(metricsPath, `${JSON.stringify(toMetricsJsonl(m))}\n`, { flag: APPEND });
            if (m.kind === 'step') {
              last = m.loss;
              process.stderr.write(`step ${m.step}/${steps} loss ${m.loss.toFixed(4)} lr ${m.lr.toExponential(2)}\n`);
            } else if (m.kind === 'eval') {
              lastVal = m.valLoss;
              process.stderr.write(`step ${m.step} val_loss ${m.valLoss.toFixed(4)}\n`);
            } else {
              if (m.validity !== null)
                process.stderr.write(
                  `step ${m.step} validity ${(100 * m.validity).toFixed(0)}% of ${m.samples.length} samples\n`,
                );
              for (const s of m.samples)
                if (s.valid === null && s.error) process.stderr.write(forTerminal(`sample: ${s.error}\n`));
            }
          },
          onCheckpoint: (bytes, step) => writeCheckpoint(outReal, bytes, step, keep),
        });
      } catch (err) {
        // Never lose the run: the adapter and a checkpoint of the last finished step are written before reporting.
        const why = err instanceof Error ? err.message : String(err);
        let saved = '';
        try {
          if (session.step > 0) {
            await writeCheckpoint(outReal, await session.checkpoint(), session.step, keep);
            saved = ` The adapter (${(await writeAdapter()).join(', ')}) and checkpoint.safetensors of step ${session.step} are in ${forTerminal(outDir)}; continue with --resume ${forTerminal(join(outDir, 'checkpoint.safetensors'))}.`;
          }
        } catch (saveErr) {
          saved = ` Saving the run failed too: ${saveErr instanceof Error ? saveErr.message : String(saveErr)}.`;
        }
        session.destroy();
        // A bug (TypeError, …) keeps its class so the top level prints its stack; the note says what was saved.
        if (err instanceof Error && err.name !== 'Error' && err.name !== 'GpuError') {
          process.stderr.write(`training stopped at step ${session.step} of ${steps}.${saved}\n`);
          throw err;
        }
        throw new Error(`training stopped at step ${session.step} of ${steps}: ${why}.${saved}`, { cause: err });
      }
      const names = await writeAdapter();
      session.destroy();
      process.stderr.write(
        `wrote ${names.join(', ')}, metrics.jsonl and checkpoint.safetensors to ${forTerminal(outDir)}\n`,
      );
      return 0;
    } finally {
      rt.destroy();
    }
  },
};
