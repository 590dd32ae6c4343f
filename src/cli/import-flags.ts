/**
 * The dataset import settings as command-line flags, shared by `data`, `train` and `evaluate` so each takes them the
 * same way: --split F (train fraction), --test F, --split-by source|row, --over-length drop|truncate,
 * --mask answers|last|all, --format F, --system-prompt S ('' for none). The maximum length and the seed come from
 * each command's own flags.
 */
import {
  MaskModeSchema,
  OverLengthSchema,
  SourceFormatSchema,
  SplitBySchema,
  type ImportSettingsInput,
} from '../schema/dataset.ts';
import { type ParsedArgs, choiceFlag, numberFlag, stringFlag } from './args.ts';

export const IMPORT_FLAGS = ['split', 'test', 'split-by', 'over-length', 'mask', 'format', 'system-prompt'] as const;

export const IMPORT_USAGE = `  --split F           train fraction (default 0.8; 1 trains on everything); valid gets the rest
  --test F            test fraction (default 0)
  --split-by U        source (default: a problem folder's or a raw-text file's rows stay in one split) | row
  --over-length P     drop | truncate rows over the maximum length (default drop)
  --mask M            answers | last | all (default answers)
  --format F          force a format: ${SourceFormatSchema.options.join(' | ')}
  --system-prompt S   system prompt for records without one ('' for none)`;

/** The import settings the flags give (only those given; the schema fills in the rest). */
export function importSettingsFromFlags(args: ParsedArgs): ImportSettingsInput {
  const out: ImportSettingsInput = {};
  if (args.flags.has('split')) out.trainFraction = numberFlag(args, 'split')!;
  if (args.flags.has('test')) out.testFraction = numberFlag(args, 'test')!;
  if (args.flags.has('split-by')) out.splitBy = choiceFlag(args, 'split-by', SplitBySchema.options, 'source');
  if (args.flags.has('over-length')) out.overLength = choiceFlag(args, 'over-length', OverLengthSchema.options, 'drop');
  if (args.flags.has('mask')) out.mask = choiceFlag(args, 'mask', MaskModeSchema.options, 'answers');
  if (args.flags.has('format')) out.format = choiceFlag(args, 'format', SourceFormatSchema.options, 'chat');
  if (args.flags.has('system-prompt')) {
    // `--system-prompt ''` (no value after it in some shells) means: never add one.
    const v = args.flags.get('system-prompt');
    out.systemPrompt = v === true ? '' : (stringFlag(args, 'system-prompt') ?? '');
  }
  return out;
}
