/**
 * The lowest cross-entropy a frozen LM head allows (float64): whatever the blocks and adapters do, the head sees the
 * final RMSNorm's output y = g ⊙ x·√C/‖x‖ (‖x/rms(x)‖ = √C), so the logits W·y have a bounded scale and a target
 * whose head row is not far from the others can never get most of the probability. For a target t the floor is
 *   min over x of  logsumexp(W·y) − (W·y)_t,
 * found by gradient descent on x from the target's own row and a few random starts (C is tiny in the tests).
 * Memorization tests measure progress against this floor instead of against zero.
 */
import type { Rng } from '../../harness/rng.ts';

/** W [V, C] row-major, g [C] (the norm weight as applied: w, or 1 + w for gemma), target t. */
export function headFloor(W: Float64Array, V: number, C: number, g: Float64Array, t: number, rng: Rng): number {
  const logits = new Float64Array(V);
  const y = new Float64Array(C);
  const lossAt = (x: Float64Array, grad: Float64Array | null): number => {
    let norm = 0;
    for (let c = 0; c < C; c++) norm += x[c]! * x[c]!;
    norm = Math.sqrt(norm);
    const s = Math.sqrt(C) / norm;
    for (let c = 0; c < C; c++) y[c] = g[c]! * x[c]! * s;
    let max = -Infinity;
    for (let v = 0; v < V; v++) {
      let acc = 0;
      for (let c = 0; c < C; c++) acc += W[v * C + c]! * y[c]!;
      logits[v] = acc;
      max = Math.max(max, acc);
    }
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[v]! - max);
    const loss = max + Math.log(sum) - logits[t]!;
    if (grad) {
      // dL/dy = Σ_v p_v W_v − W_t; y = g ⊙ x·s with s = √C/‖x‖: dL/dx = s·(g ⊙ dy − (x·(g ⊙ dy)) x / ‖x‖²).
      const dy = new Float64Array(C);
      for (let v = 0; v < V; v++) {
        const p = Math.exp(logits[v]! - max) / sum - (v === t ? 1 : 0);
        for (let c = 0; c < C; c++) dy[c] = dy[c]! + p * W[v * C + c]!;
      }
      let dot = 0;
      for (let c = 0; c < C; c++) dot += x[c]! * g[c]! * dy[c]!;
      for (let c = 0; c < C; c++) grad[c] = s * (g[c]! * dy[c]! - (dot * x[c]!) / (norm * norm));
    }
    return loss;
  };
  let best = Infinity;
  for (let start = 0; start < 6; start++) {
    const x = Float64Array.from({ length: C }, (_, c) => (start === 0 ? g[c]! * W[t * C + c]! : rng.normal()));
    const grad = new Float64Array(C);
    let step = 1;
    let loss = lossAt(x, grad);
    for (let it = 0; it < 400; it++) {
      const trial = Float64Array.from(x, (v, c) => v - step * grad[c]!);
      const next = lossAt(trial, null);
      if (next < loss) {
        x.set(trial);
        loss = lossAt(x, grad);
        step *= 1.2;
      } else step *= 0.5;
      if (step < 1e-9) break;
    }
    best = Math.min(best, loss);
  }
  return best;
}
