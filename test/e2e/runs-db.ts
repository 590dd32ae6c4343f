/** Runs and checkpoints written into the app's IndexedDB from a browser test, as the training module stores them. */
import type { Page } from 'playwright-core';
import { DB_NAME } from '../../src/storage/db.ts';
import type { RunInfo } from '../../src/worker/contract-runs.ts';

/** Writes runs, their checkpoints and validation losses into the app's IndexedDB, as the training module does. */
export async function storeRuns(
  page: Page,
  runs: {
    run: RunInfo;
    checkpoints: { step: number; valLoss: number | null; bytes: Uint8Array }[];
    evals: [number, number][];
  }[],
): Promise<void> {
  const plain = runs.map((r) => ({
    ...r,
    checkpoints: r.checkpoints.map((c) => ({ ...c, bytes: Array.from(c.bytes) })),
  }));
  await page.evaluate(
    ([name, items]) =>
      new Promise<void>((resolve, reject) => {
        const open = indexedDB.open(name);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const tx = db.transaction(['runs', 'checkpoints', 'runMetrics'], 'readwrite');
          for (const item of items) {
            tx.objectStore('runs').put(item.run);
            for (const c of item.checkpoints)
              tx.objectStore('checkpoints').put({
                runId: item.run.id,
                step: c.step,
                savedAt: new Date().toISOString(),
                valLoss: c.valLoss,
                bytes: new Uint8Array(c.bytes),
              });
            item.evals.forEach(([step, valLoss], seq) =>
              tx
                .objectStore('runMetrics')
                .put({ runId: item.run.id, seq, metric: { kind: 'eval', step, valLoss, valTokens: 10 } }),
            );
          }
          tx.oncomplete = () => {
            db.close();
            resolve();
          };
          tx.onerror = () => reject(tx.error);
        };
      }),
    [DB_NAME, plain] as const,
  );
}
