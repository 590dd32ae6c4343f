/**
 * Benchmark timing: each trial records `reps` runs of a case into one command buffer, submits it, and waits for the
 * GPU; the reported time is the median trial divided by `reps`. Wall-clock, so our kernels and TF.js are timed alike.
 */
import type { GpuRuntime } from '../src/gpu/runtime.ts';
import type { Recorder } from '../src/gpu/recorder.ts';
import { exitAfterOutput } from '../src/cli/exit.ts';

export interface BenchResult {
  op: string;
  shape: string;
  ms: number;
  /** Floating-point operations per run (for GFLOP/s), or 0 when bytes are the measure. */
  flops: number;
  /** Bytes moved per run (for GB/s), or 0. */
  bytes: number;
  note?: string;
}

export function randomF32(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Times `record` (which adds one run's dispatches to a recorder) on our runtime. */
export async function timeOurs(
  rt: GpuRuntime,
  record: (rec: Recorder) => Promise<void>,
  opts: { reps: number; trials: number },
): Promise<number> {
  const warm = rt.recorder('bench-warmup');
  await record(warm);
  await warm.submit();
  const times: number[] = [];
  for (let t = 0; t < opts.trials; t++) {
    const rec = rt.recorder('bench');
    for (let r = 0; r < opts.reps; r++) await record(rec);
    const start = performance.now();
    await rec.submit();
    times.push((performance.now() - start) / opts.reps);
  }
  return median(times);
}

export function gflops(r: BenchResult): string {
  return r.flops > 0 ? (r.flops / (r.ms * 1e6)).toFixed(1) : '';
}

export function gbps(r: BenchResult): string {
  return r.bytes > 0 ? (r.bytes / (r.ms * 1e6)).toFixed(1) : '';
}

export function table(results: BenchResult[]): string {
  const head = '| op | shape | ms | GFLOP/s | GB/s | note |\n|---|---|---:|---:|---:|---|';
  const rows = results.map(
    (r) => `| ${r.op} | ${r.shape} | ${r.ms.toFixed(3)} | ${gflops(r)} | ${gbps(r)} | ${r.note ?? ''} |`,
  );
  return [head, ...rows].join('\n');
}

/** Runs a benchmark's main with the process arguments and exits with its outcome. */
export function runBench(main: (argv: string[]) => Promise<void>): void {
  main(process.argv.slice(2)).then(
    () => exitAfterOutput(0),
    (err: unknown) => {
      process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      exitAfterOutput(1);
    },
  );
}
