/**
 * Every command refuses a flag it does not know, naming it and listing the flags it knows (exit code 2 through
 * main.ts); `train` takes the import settings `data` takes; `--scale` (mlx-lm) becomes alpha.
 */
import { describe, expect, it } from 'vitest';
import { knownFlags, listFlag, parseArgs, UsageError } from '../../../src/cli/args.ts';
import { commands } from '../../../src/cli/commands/index.ts';
import { configFromFlags, TRAIN_FLAGS } from '../../../src/cli/commands/train.ts';
import { importSettingsFromFlags } from '../../../src/cli/import-flags.ts';

describe('CLI flags', () => {
  it('an unknown flag fails before any work, with the list of known ones', async () => {
    // info takes no value flag; export-run reads --run, not --model.
    const first = (name: string) =>
      name === 'info' ? [] : name === 'export-run' ? ['--run', '/none'] : ['--model', '/none'];
    const known = (name: string) =>
      name === 'info' ? '--no-cpu-fallback' : name === 'export-run' ? '--run VALUE' : '--model VALUE';
    const names = ['train', 'generate', 'export', 'export-run', 'evaluate', 'logits', 'load', 'plan', 'data', 'info'];
    for (const name of names) {
      const err = await commands[name]!.run([...first(name), '--no-such-flag', 'x']).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, name).toBeInstanceOf(UsageError);
      const message = (err as Error).message;
      expect(message, name).toContain('unknown flag --no-such-flag');
      expect(message, name).toContain(known(name));
    }
    // The flags the issue found silently ignored are train flags now, and so is the list in the message.
    const msg = knownFlags(TRAIN_FLAGS);
    for (const f of ['--split VALUE', '--system-prompt VALUE', '--over-length VALUE', '--test VALUE', '--pack'])
      expect(msg).toContain(f);
  });

  it('train takes the import settings as data does', () => {
    const args = parseArgs(
      ['--split', '1', '--test', '0', '--split-by', 'row', '--over-length', 'truncate', '--system-prompt', 'Be brief.'],
      TRAIN_FLAGS,
      'train',
    );
    expect(importSettingsFromFlags(args)).toEqual({
      trainFraction: 1,
      testFraction: 0,
      splitBy: 'row',
      overLength: 'truncate',
      systemPrompt: 'Be brief.',
    });
    expect(importSettingsFromFlags(parseArgs(['--system-prompt', ''], TRAIN_FLAGS))).toEqual({ systemPrompt: '' });
    expect(() => importSettingsFromFlags(parseArgs(['--over-length', 'trim'], TRAIN_FLAGS))).toThrow(/drop, truncate/);
  });

  it('--scale is mlx-lm scale: alpha = scale × rank', async () => {
    const c = await configFromFlags(parseArgs(['--preset', 'persona', '--scale', '20'], TRAIN_FLAGS));
    expect([c.lora.rank, c.lora.alpha]).toEqual([8, 160]);
    const r16 = await configFromFlags(parseArgs(['--rank', '16', '--scale', '2'], TRAIN_FLAGS));
    expect(r16.lora.alpha).toBe(32);
    await expect(configFromFlags(parseArgs(['--alpha', '3', '--scale', '2'], TRAIN_FLAGS))).rejects.toThrow(/not both/);
  });

  it('booleans take no value, repeated flags are all kept', () => {
    const spec = { values: ['adapter'], booleans: ['json'] };
    expect(() => parseArgs(['--json=1'], spec)).toThrow(/takes no value/);
    const a = parseArgs(['--adapter', 'a', '--json', '--adapter', 'b,c'], spec);
    expect(listFlag(a, 'adapter')).toEqual(['a', 'b', 'c']);
    expect(a.flags.get('json')).toBe(true);
  });
});
