/**
 * Node entry: `npm run cli -- <command> [flags]`.
 * Each command lives in `src/cli/commands/<name>.ts` and exports `run(argv): Promise<number>` (exit code).
 */
import { commands } from './commands/index.ts';
import { exitAfterOutput } from './exit.ts';

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
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    exitAfterOutput(1);
  },
);
