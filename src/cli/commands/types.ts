export interface CliCommand {
  /** One line for `npm run cli -- help`. */
  summary: string;
  /** Runs the command with the arguments after its name; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}
