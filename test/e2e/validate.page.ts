/**
 * Test page for the validation worker (`test/e2e/validate.html`): starts the worker and exposes
 * `window.validatePage` for the browser test to drive with `page.evaluate`.
 */
import { startValidateWorker } from '../../src/validate/client.ts';
import type { BenchResult } from '../../src/validate/bench.ts';
import type { ValidationResult, ValidatorKind, ValidatorOptions } from '../../src/validate/types.ts';

export interface Responsiveness {
  /** Timer ticks the main thread ran (every 10 ms requested) while the work was in flight. */
  ticks: number;
  /** Longest gap between two ticks: how long the page was blocked at worst. */
  maxGapMs: number;
}

export interface ValidatePage {
  validateMany(kind: ValidatorKind, texts: string[], options?: ValidatorOptions): Promise<ValidationResult[]>;
  /** Times `n` validations in the worker while measuring the main thread's timer gaps. */
  bench(kind: ValidatorKind, answers: string[], n: number): Promise<BenchResult & Responsiveness>;
}

declare global {
  interface Window {
    validatePage: ValidatePage;
  }
}

const client = startValidateWorker();

async function whileResponsive<T>(work: Promise<T>): Promise<T & Responsiveness> {
  let ticks = 0;
  let maxGapMs = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
    ticks++;
  }, 10);
  try {
    const result = await work;
    return { ...result, ticks, maxGapMs };
  } finally {
    clearInterval(timer);
  }
}

window.validatePage = {
  validateMany: (kind, texts, options) => client.api.validateMany(kind, texts, options),
  bench: (kind, answers, n) => whileResponsive(client.api.bench(kind, answers, n)),
};
document.body.dataset.ready = 'true';
