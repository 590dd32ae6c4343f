/**
 * Training examples ({ids, mask}: mask[t] = 1 when token t is learned) → micro-batches of B rows padded to T, with
 * next-token targets: position t predicts ids[t + 1] and trains only when mask[t + 1] = 1.
 */
import { IGNORE_INDEX } from '../kernels/cross_entropy.ts';
import type { TrainBatch } from '../model/model.ts';

export interface Example {
  ids: ArrayLike<number>;
  /** 1 where the token is learned */
  mask: ArrayLike<number>;
}

export function microBatch(examples: readonly Example[], T: number, padId = 0): TrainBatch {
  const B = examples.length;
  const ids = new Uint32Array(B * T).fill(padId);
  const targets = new Uint32Array(B * T).fill(IGNORE_INDEX);
  examples.forEach((e, b) => {
    if (e.ids.length !== e.mask.length) throw new Error(`example ${b}: ${e.ids.length} ids but ${e.mask.length} mask values`);
    const n = Math.min(e.ids.length, T);
    for (let t = 0; t < n; t++) ids[b * T + t] = e.ids[t]!;
    for (let t = 0; t + 1 < n; t++) if (e.mask[t + 1]) targets[b * T + t] = e.ids[t + 1]!;
  });
  return { ids, targets, B, T };
}

/** Tokens that train in a set of micro-batches (the denominator of the accumulated batch's mean loss). */
export function trainedTokens(batches: readonly TrainBatch[]): number {
  let n = 0;
  for (const b of batches) for (const t of b.targets) if (t !== IGNORE_INDEX) n++;
  return n;
}
