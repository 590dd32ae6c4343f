/**
 * Measuring an import in the browser: JSONL generation on disk, main-thread timer gaps, the values
 * the progress display shows, JS heaps of the page and its workers (CDP), and Chromium's process
 * memory (VmRSS / VmHWM from /proc).
 */
import { createWriteStream, readFileSync } from 'node:fs';
import type { Browser, CDPSession, Page } from 'playwright-core';

const WORDS =
  'gradient descent learning rate adapter rank alpha dropout token batch epoch loss validation model layer attention weight bias optimizer schedule warmup'.split(
    ' ',
  );

/** One distinct chat row (ASCII, ~490 bytes). */
function chatRow(i: number): string {
  let q = `Question ${i}: explain`;
  let a = `Answer ${i}:`;
  for (let k = 0; k < 12; k++) q += ` ${WORDS[(i * 7 + k * 3) % WORDS.length]}`;
  for (let k = 0; k < 40; k++) a += ` ${WORDS[(i * 11 + k * 5) % WORDS.length]}`;
  return `${JSON.stringify({
    messages: [
      { role: 'user', content: q },
      { role: 'assistant', content: a },
    ],
  })}\n`;
}

/** Writes at least `bytes` of distinct chat rows to `path`; returns the rows and the exact size. */
export async function writeChatJsonl(path: string, bytes: number): Promise<{ rows: number; size: number }> {
  const out = createWriteStream(path);
  let size = 0;
  let rows = 0;
  let batch = '';
  while (size < bytes) {
    const line = chatRow(rows++);
    size += Buffer.byteLength(line);
    batch += line;
    if (batch.length > 1 << 20) {
      if (!out.write(batch)) await new Promise<void>((r) => out.once('drain', () => r()));
      batch = '';
    }
  }
  out.end(batch);
  await new Promise<void>((resolve, reject) => out.on('finish', () => resolve()).on('error', reject));
  return { rows, size };
}

/** Starts a 10 ms interval timer in the page; `stop` gives the longest gap between its ticks. */
export async function watchMainThread(page: Page): Promise<{ stop(): Promise<{ maxGapMs: number; ticks: number }> }> {
  await page.evaluate(() => {
    const w = window as unknown as { __gaps: { last: number; max: number; ticks: number; timer: number } };
    const g = { last: performance.now(), max: 0, ticks: 0, timer: 0 };
    g.timer = window.setInterval(() => {
      const now = performance.now();
      g.max = Math.max(g.max, now - g.last);
      g.last = now;
      g.ticks++;
    }, 10);
    w.__gaps = g;
  });
  return {
    stop: () =>
      page.evaluate(() => {
        const g = (window as unknown as { __gaps: { max: number; ticks: number; timer: number } }).__gaps;
        clearInterval(g.timer);
        return { maxGapMs: g.max, ticks: g.ticks };
      }),
  };
}

/** Records every value the progress display shows (data-bytes / data-rows), with the time. */
export async function recordProgress(
  page: Page,
): Promise<{ stop(): Promise<{ t: number; bytes: number; rows: number }[]> }> {
  await page.evaluate(() => {
    const seen: { t: number; bytes: number; rows: number }[] = [];
    const read = () => {
      const b = document.querySelector('[data-testid="progress-bytes"]');
      const r = document.querySelector('[data-testid="progress-rows"]');
      if (!b || !r) return;
      const entry = {
        t: performance.now(),
        bytes: Number(b.getAttribute('data-bytes')),
        rows: Number(r.getAttribute('data-rows')),
      };
      const last = seen[seen.length - 1];
      if (!last || last.bytes !== entry.bytes || last.rows !== entry.rows) seen.push(entry);
    };
    const observer = new MutationObserver(read);
    observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    (window as unknown as { __progress: { seen: typeof seen; observer: MutationObserver } }).__progress = {
      seen,
      observer,
    };
  });
  return {
    stop: () =>
      page.evaluate(() => {
        const p = (
          window as unknown as {
            __progress: { seen: { t: number; bytes: number; rows: number }[]; observer: MutationObserver };
          }
        ).__progress;
        p.observer.disconnect();
        return p.seen;
      }),
  };
}

/** Used and allocated JS heap bytes of one thread. */
export interface HeapUse {
  used: number;
  total: number;
}

/**
 * Samples the JS heap (Runtime.getHeapUsage: used and allocated bytes) of the page and of its
 * dedicated workers every `everyMs`, through a CDP session that auto-attaches to the workers, and
 * keeps the peaks per thread ("page", "worker:<name>"). `now()` takes one sample at once.
 */
export async function sampleHeaps(
  page: Page,
  everyMs = 100,
): Promise<{ now(): Promise<Record<string, HeapUse>>; stop(): Promise<Record<string, HeapUse>> }> {
  const cdp: CDPSession = await page.context().newCDPSession(page);
  const workers = new Map<string, string>();
  const waiting = new Map<number, (v: { result?: { usedSize: number; totalSize: number } }) => void>();
  let nextId = 1;
  const peaks: Record<string, HeapUse> = {};
  cdp.on('Target.attachedToTarget', (e) => {
    if (e.targetInfo.type === 'worker') workers.set(e.sessionId, `worker:${e.targetInfo.title}`);
  });
  cdp.on('Target.detachedFromTarget', (e) => workers.delete(e.sessionId));
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    const msg = JSON.parse(e.message) as { id?: number; result?: { usedSize: number; totalSize: number } };
    if (msg.id === undefined) return;
    waiting.get(msg.id)?.(msg);
    waiting.delete(msg.id);
  });
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  const ask = (sessionId: string) =>
    new Promise<{ result?: { usedSize: number; totalSize: number } }>((resolve) => {
      const id = nextId++;
      waiting.set(id, resolve);
      cdp
        .send('Target.sendMessageToTarget', {
          sessionId,
          message: JSON.stringify({ id, method: 'Runtime.getHeapUsage' }),
        })
        .catch(() => resolve({}));
      setTimeout(() => resolve({}), 2000);
    });
  const sample = async (): Promise<Record<string, HeapUse>> => {
    const out: Record<string, HeapUse> = {};
    const jobs = [...workers].map(async ([sid, key]) => {
      const r = (await ask(sid)).result;
      if (r) out[key] = { used: r.usedSize, total: r.totalSize };
    });
    jobs.push(
      cdp.send('Runtime.getHeapUsage').then(
        (r) => void (out.page = { used: r.usedSize, total: r.totalSize }),
        () => undefined,
      ),
    );
    await Promise.all(jobs);
    for (const [key, h] of Object.entries(out)) {
      const p = (peaks[key] ??= { used: 0, total: 0 });
      p.used = Math.max(p.used, h.used);
      p.total = Math.max(p.total, h.total);
    }
    return out;
  };
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void sample().finally(() => (busy = false));
  }, everyMs);
  return {
    now: sample,
    stop: async () => {
      clearInterval(timer);
      await cdp.detach().catch(() => undefined);
      return peaks;
    },
  };
}

export interface ProcessMemory {
  type: string;
  pid: number;
  rssKiB: number;
  peakKiB: number;
}

/** Resident and peak resident memory (VmRSS, VmHWM from /proc) of every Chromium process (Linux). */
export async function processMemory(browser: Browser): Promise<ProcessMemory[]> {
  const cdp = await browser.newBrowserCDPSession();
  const info = (await cdp.send('SystemInfo.getProcessInfo')) as { processInfo: { type: string; id: number }[] };
  await cdp.detach();
  const out: ProcessMemory[] = [];
  for (const p of info.processInfo) {
    try {
      const status = readFileSync(`/proc/${p.id}/status`, 'utf8');
      const kib = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
      out.push({ type: p.type, pid: p.id, rssKiB: kib('VmRSS'), peakKiB: kib('VmHWM') });
    } catch {
      // the process ended, or /proc is not there (not Linux)
    }
  }
  return out;
}
