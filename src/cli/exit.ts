/**
 * Leaving a Node entry point without cutting its output: a pipe (`cli data --json | jq`) is
 * written asynchronously, and `process.exit` right after a large write drops what the OS has not
 * taken yet (the first 64 KiB arrive, the rest is lost). An empty write's callback runs once every
 * earlier write has been handed over, so the process exits after that. A reader that went away
 * (`| head`) is not an error of ours: the process ends quietly, with the code it had when it was
 * already ending, else 141 as a shell reports a process ended by SIGPIPE.
 */

function flushed(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.destroyed || !stream.writable) return Promise.resolve();
  return new Promise((resolve) => stream.write('', () => resolve()));
}

let ending: number | null = null;

function onStreamError(err: NodeJS.ErrnoException): void {
  if (err.code === 'EPIPE') process.exit(ending ?? 141);
  throw err;
}
process.stdout.on('error', onStreamError);
process.stderr.on('error', onStreamError);

/** Exits with `code` once stdout and stderr have been written out. */
export function exitAfterOutput(code: number): void {
  ending = code;
  void Promise.all([flushed(process.stdout), flushed(process.stderr)]).then(() => process.exit(code));
}
