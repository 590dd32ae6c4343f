/**
 * Runs one fuzz case: the CLI (`node dist/cli/main.js ARGV`) in a child process, killed past `timeoutMs` (a hang) or
 * when its resident memory passes `memoryCap` bytes (a memory blow-up; read from /proc every 20 ms, and the kernel's
 * own peak, VmHWM, is what gets reported), then classified:
 *   error       exit 1 with the CLI's "error: …" line (or `cli data`'s JSON summary of problems), no internal error
 *   unnamed     a clean error whose message names none of the mutated files (the user cannot tell which is bad)
 *   crash       an internal error (exit 70: a raw TypeError / RangeError … reached the top), a signal, a V8 or
 *               native abort, or any other exit code
 *   hang        killed at the timeout
 *   memory      killed at the memory cap, or V8 / ArrayBuffer out of memory
 *   accepted    exit 0 and the output passed the target's check
 *   non-finite  exit 0 but the target's check found garbage (NaN / Inf in the output)
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { FuzzCase } from './target.ts';

export type Outcome = 'error' | 'unnamed' | 'crash' | 'hang' | 'memory' | 'accepted' | 'non-finite';
/** Outcomes that fail a fuzz run. */
export const FAILING: readonly Outcome[] = ['crash', 'hang', 'memory', 'non-finite', 'unnamed'];

export interface CaseResult {
  outcome: Outcome;
  code: number | null;
  signal: string | null;
  ms: number;
  peakRss: number;
  /** The last lines of stderr (the error message). */
  message: string;
  detail: string | null;
}

export interface RunLimits {
  cli: string;
  timeoutMs: number;
  memoryCap: number;
  env: Record<string, string>;
}

function rssOf(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

const OOM =
  /heap out of memory|Array buffer allocation failed|allocation failed|Invalid array buffer length|Cannot create a string longer|Invalid string length|Reached heap limit/i;
const NATIVE = /FATAL ERROR|Segmentation fault|Aborted|core dumped|Fatal process|node::|Assertion failed|Uncaught/;

export async function runCase(c: FuzzCase, dir: string, limits: RunLimits): Promise<CaseResult> {
  const started = performance.now();
  const capMb = Math.max(64, Math.ceil(limits.memoryCap / 2 ** 20));
  const child = spawn(process.execPath, [`--max-old-space-size=${capMb}`, limits.cli, ...c.argv], {
    cwd: dir,
    env: { ...process.env, ...limits.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    if (stdout.length < 4 << 20) stdout += d.toString('utf8');
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-16000);
  });
  let killedFor: 'hang' | 'memory' | null = null;
  let peak = 0;
  const poll = setInterval(() => {
    const m = child.pid ? rssOf(child.pid) : null;
    if (!m) return;
    peak = Math.max(peak, m.hwm, m.rss);
    if (m.rss > limits.memoryCap && killedFor === null) {
      killedFor = 'memory';
      child.kill('SIGKILL');
    }
  }, 20);
  const timer = setTimeout(() => {
    if (killedFor === null) killedFor = 'hang';
    child.kill('SIGKILL');
  }, limits.timeoutMs);
  const { code, signal } = await new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  clearInterval(poll);
  clearTimeout(timer);
  const ms = performance.now() - started;
  const message = stderr.trim().split('\n').slice(-6).join('\n');
  const base = { code, signal, ms, peakRss: peak, message };
  if (killedFor) return { ...base, outcome: killedFor, detail: null };
  if (OOM.test(stderr)) return { ...base, outcome: 'memory', detail: null };
  if (code === 0) {
    const bad = c.checkOutput ? await c.checkOutput(dir, stdout) : null;
    return { ...base, outcome: bad ? 'non-finite' : 'accepted', detail: bad };
  }
  // `cli data` reports a dataset it could not import as a JSON summary of the problems (exit 1).
  const summary = stdout.trimStart().startsWith('{');
  if (code === 1 && (/^error: /m.test(stderr) || summary) && !NATIVE.test(stderr)) {
    const names = c.files.map((f) => f.split('/').at(-1)!);
    const named = names.length === 0 || names.some((n) => stderr.includes(n) || stdout.includes(n));
    return { ...base, outcome: named ? 'error' : 'unnamed', detail: null };
  }
  return { ...base, outcome: 'crash', detail: null };
}
