/**
 * Node entry: `npm run cli -- <command> [flags]`.
 * Each command lives in `src/cli/commands/<name>.ts` and exports `run(argv): Promise<number>` (exit code).
 * Exit codes: 0 done, 1 an error with a message for the user, 2 a usage error, 70 an internal error (a raw
 * TypeError / RangeError / … reached the top: a bug, printed with its stack so it can be reported).
 */
import { commands } from './commands/index.ts';
import { exitAfterOutput } from './exit.ts';
import { clipLong, forTerminal } from './terminal.ts';

/** JavaScript's own error classes: one of these reaching the top is a bug, not a message written for the user. */
const INTERNAL = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError', 'EvalError', 'URIError']);

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name ? commands[name] : undefined;
  if (!command) {
    const list = Object.entries(commands)
      .map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`)
      .join('\n');
    process.stderr.write(`usage: npm run cli -- <command> [flags]\n\ncommands:\n${list}\n`);
    return name && name !== 'help' && name !== '--help' ? 2 : 0;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => exitAfterOutput(code),
  (err: unknown) => {
    const e = err instanceof Error ? err : null;
    process.stderr.write(`error: ${forTerminal(clipLong(e ? e.message : String(err)))}\n`);
    if (e && INTERNAL.has(e.name)) {
      process.stderr.write(
        `(internal error ${e.name}: this is a bug, please report it with the command you ran)\n${forTerminal(e.stack ?? '')}\n`,
      );
      exitAfterOutput(70);
      return;
    }
    exitAfterOutput(1);
  },
);
