/** The CLI's command table. Add a command: write `./<name>.ts` exporting `command`, then list it here. */
import type { CliCommand } from './types.ts';
import { command as data } from './data.ts';
import { command as exportCmd } from './export.ts';
import { command as exportRun } from './export-run.ts';
import { command as generate } from './generate.ts';
import { command as info } from './info.ts';
import { command as logits } from './logits.ts';
import { command as load } from './load.ts';
import { command as plan } from './plan.ts';
import { command as train } from './train.ts';
import { command as validate } from './validate.ts';

export const commands: Record<string, CliCommand> = {
  data,
  export: exportCmd,
  'export-run': exportRun,
  generate,
  info,
  logits,
  load,
  plan,
  train,
  validate,
};
