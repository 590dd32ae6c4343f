/**
 * `npm run cli -- evaluate --model DIR [--adapter A [--adapter B …]] --data PATH [--validator asp|dot|json|sql]
 *   [--eval-split valid|test|train] [--samples N] [--sample-tokens N] [--max-length N] [--quant …] [--no-base] [--json]`
 * measures the base model and each adapter on the same data: the mean loss over the answers' tokens and the validity
 * rate of greedy answers to the split's prompts (checked by the validator), with the samples. The data is imported as
 * `data` imports it (same flags); rows of a file that is not pre-split all count as the evaluated split (--eval-split,
 * default valid) unless --split / --test say otherwise. The core is src/train/evaluate-models.ts, which the app's evaluation shares.
 */
import { importDataset } from '../../data/import.ts';
import { filesFromPaths } from '../../data/node-files.ts';
import { loadTokenizer } from '../../data/tokenizer.ts';
import { nodeGpu } from '../../gpu/node.ts';
import { GpuRuntime } from '../../gpu/runtime.ts';
import { stopTokenIds } from '../../model/generation-config.ts';
import { loadModel } from '../../model/loader.ts';
import { loadPeftDir } from '../../model/lora-peft-node.ts';
import { QUANT_CHOICES } from '../../model/plan.ts';
import { NodeFolderModelSource } from '../../model/source-node.ts';
import { SplitSchema } from '../../schema/dataset.ts';
import { type Candidate, evaluateModels, type ModelEvaluation } from '../../train/evaluate-models.ts';
import { VALIDATOR_KINDS } from '../../validate/types.ts';
import { UsageError, choiceFlag, listFlag, numberFlag, parseArgs, stringFlag } from '../args.ts';
import { IMPORT_FLAGS, importSettingsFromFlags } from '../import-flags.ts';
import { forTerminal } from '../terminal.ts';
import type { CliCommand } from './types.ts';

const FLAGS = {
  values: [
    'model',
    'adapter',
    'data',
    'validator',
    'eval-split',
    'samples',
    'sample-tokens',
    'max-length',
    'quant',
    'seed',
    'batch',
    ...IMPORT_FLAGS,
  ],
  booleans: ['json', 'no-base'],
} as const;

const pct = (x: number | null) => (x === null ? '—' : `${(100 * x).toFixed(1)}%`);
const short = (s: string, n = 100) => {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
};

/** The human-readable report: one line per model, then its samples. */
export function formatEvaluation(results: readonly ModelEvaluation[]): string {
  const lines: string[] = [];
  const w = Math.max(5, ...results.map((r) => r.name.length));
  lines.push(`${'model'.padEnd(w)}  ${'loss'.padStart(8)}  ${'validity'.padStart(8)}  samples  tokens`);
  for (const r of results) {
    const checked = r.samples.filter((s) => s.valid !== null);
    const valid = checked.filter((s) => s.valid).length;
    lines.push(
      `${r.name.padEnd(w)}  ${(Number.isNaN(r.loss) ? '—' : r.loss.toFixed(4)).padStart(8)}  ${pct(r.validity).padStart(8)}  ${`${valid}/${checked.length}`.padStart(7)}  ${r.tokens}`,
    );
  }
  for (const r of results) {
    lines.push('', `## ${r.name}`);
    for (const [k, s] of r.samples.entries()) {
      const mark = s.valid === null ? '?' : s.valid ? 'valid' : 'invalid';
      lines.push(`${k + 1}. [${mark}] ${short(s.prompt)}`, `   → ${short(s.output) || '(empty)'}`);
      if (s.error) lines.push(`   ${short(s.error, 160)}`);
    }
  }
  return `${forTerminal(lines.join('\n'))}\n`;
}

export const command: CliCommand = {
  summary: 'validity rate and loss of the base model and each adapter on the same validation data, with samples',
  async run(argv) {
    const args = parseArgs(argv, FLAGS, 'evaluate');
    const modelDir = stringFlag(args, 'model');
    const data = stringFlag(args, 'data');
    if (!modelDir || !data)
      throw new UsageError(
        'evaluate needs --model DIR --data PATH [--adapter DIR …] [--validator asp|dot|json|sql] [--eval-split valid]',
      );
    const adapters = listFlag(args, 'adapter');
    const withBase = !args.flags.has('no-base');
    if (!withBase && adapters.length === 0) throw new UsageError('--no-base needs at least one --adapter DIR');
    const split = choiceFlag(args, 'eval-split', SplitSchema.options, 'valid');
    const validator = args.flags.has('validator') ? choiceFlag(args, 'validator', VALIDATOR_KINDS, 'asp') : null;
    const maxLength = numberFlag(args, 'max-length', 2048)!;
    const source = await NodeFolderModelSource.open(modelDir);
    const tokenizer = await loadTokenizer((name) => source.readText(name));
    // Rows of files that are not pre-split all belong to the evaluated split, unless --split / --test say otherwise.
    const everything =
      split === 'train'
        ? { trainFraction: 1 }
        : split === 'test'
          ? { testFraction: 1, trainFraction: 0 }
          : { trainFraction: 0 };
    const imported = await importDataset(
      await filesFromPaths([data]),
      { ...everything, maxLength, seed: numberFlag(args, 'seed', 0)!, ...importSettingsFromFlags(args) },
      { tokenizer },
    );
    for (const p of imported.problems.slice(0, 20))
      process.stderr.write(`skipped ${p.file}${p.line ? `:${p.line}` : ''}: ${p.reason}\n`);
    if (imported.refusal) throw new Error(`nothing to evaluate: ${imported.refusal}`);
    const candidates: Candidate[] = [
      ...(withBase ? [{ name: 'base' }] : []),
      ...adapters.map((dir) => ({
        name: dir,
        load: (rt: GpuRuntime, d: Parameters<typeof loadPeftDir>[1], owner: string) => loadPeftDir(rt, d, dir, owner),
      })),
    ];
    const rt = await GpuRuntime.create(await nodeGpu({ cpuFallback: true }), { label: 'cli-evaluate' });
    try {
      const { weights } = await loadModel(rt, source, {
        quant: choiceFlag(args, 'quant', QUANT_CHOICES, 'none'),
        owner: 'evaluate/weights',
      });
      const eos = stopTokenIds(weights.desc, await source.readText('generation_config.json'), tokenizer.eosTokenId);
      const results = await evaluateModels({
        rt,
        weights,
        tokenizer,
        records: imported.records,
        settings: imported.settings,
        split,
        candidates,
        samples: {
          count: numberFlag(args, 'samples', 8)!,
          maxNewTokens: numberFlag(args, 'sample-tokens', 256)!,
          validator,
        },
        eosTokenIds: eos,
        microBatch: numberFlag(args, 'batch', 1)!,
        onResult: (r) => {
          process.stderr.write(
            `${r.name}: loss ${r.loss.toFixed(4)}, validity ${pct(r.validity)} of ${r.samples.length} samples\n`,
          );
        },
      });
      rt.memory.destroyOwner('evaluate/weights');
      if (args.flags.has('json'))
        process.stdout.write(
          `${JSON.stringify({ split, validator, examples: results[0]?.examples ?? 0, models: results }, null, 2)}\n`,
        );
      else process.stdout.write(formatEvaluation(results));
      return 0;
    } finally {
      rt.destroy();
    }
  },
};
