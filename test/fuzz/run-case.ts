/**
 * Runs one fuzz case: the CLI (`node dist/cli/main.js ARGV`) in a child process, killed once it has used `timeoutMs`
 * of CPU time (user + system, all its threads, from /proc/PID/stat) or `wallFactor` × that of wall-clock time (a
 * hang), or when its resident memory passes `memoryCap` bytes (a memory blow-up; read from /proc every 20 ms, and the
 * kernel's own peak, VmHWM, is what gets reported), then classified. CPU time, not wall time, decides a hang, so a
 * machine busy with other work does not turn slow cases into hangs; the wall-clock limit still catches a case that
 * waits forever without computing.
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
  /** CPU time (ms) after which a case is a hang. */
  timeoutMs: number;
  /** Wall-clock limit as a multiple of timeoutMs (default 4). */
  wallFactor?: number;
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

/** Clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** CPU time (ms) the process has used so far, or null when it is gone. */
function cpuMsOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the fields after the command name (which is in parentheses and may hold spaces): state is field 3
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
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
    const cpu = child.pid ? cpuMsOf(child.pid) : null;
    if (cpu !== null && cpu > limits.timeoutMs && killedFor === null) {
      killedFor = 'hang';
      child.kill('SIGKILL');
    }
  }, 20);
  const timer = setTimeout(
    () => {
      if (killedFor === null) killedFor = 'hang';
      child.kill('SIGKILL');
    },
    limits.timeoutMs * (limits.wallFactor ?? 4),
  );
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
