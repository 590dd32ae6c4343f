/**
 * CLI output through a pipe is never cut: `exitAfterOutput` waits until stdout has been written
 * out. The child writes 1 MiB and exits while the reader (this test) is still paused, the case in
 * which a bare `process.exit` delivers only the first 64 KiB.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { transformWithOxc } from 'vite';

const BYTES = 1 << 20;

async function childScript(useExitAfterOutput: boolean): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cli-exit-'));
  const source = await readFile(join(process.cwd(), 'src', 'cli', 'exit.ts'), 'utf8');
  const { code } = await transformWithOxc(source, 'exit.ts', { lang: 'ts' });
  await writeFile(join(dir, 'exit.mjs'), code);
  const main = useExitAfterOutput
    ? `import { exitAfterOutput } from './exit.mjs';\nprocess.stdout.write('x'.repeat(${BYTES}));\nexitAfterOutput(3);\n`
    : `process.stdout.write('x'.repeat(${BYTES}));\nprocess.exit(3);\n`;
  await writeFile(join(dir, 'main.mjs'), main);
  return join(dir, 'main.mjs');
}

/** Runs the script with stdout piped to us; we start reading only after it had time to exit. */
function run(script: string): Promise<{ code: number | null; bytes: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let bytes = 0;
    child.stdout.pause();
    child.stdout.on('data', (b: Buffer) => (bytes += b.length));
    child.on('error', reject);
    setTimeout(() => child.stdout.resume(), 500);
    child.stdout.on('end', () => child.exitCode !== null && resolve({ code: child.exitCode, bytes }));
    child.on('exit', (code) => child.stdout.readableEnded && resolve({ code, bytes }));
  });
}

test('stdout is written out in full before the process exits, with the command exit code', async () => {
  expect(await run(await childScript(true))).toEqual({ code: 3, bytes: BYTES });
});

test('the harness can tell: a bare process.exit cuts piped output short', async () => {
  const bare = await run(await childScript(false));
  expect(bare.code).toBe(3);
  expect(bare.bytes).toBeLessThan(BYTES);
});
