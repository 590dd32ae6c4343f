/**
 * Float64 CPU reference of the LM head + cross-entropy: logits = h · Woutᵀ (h [T, C], Wout [V, C]), optional soft-cap
 * l' = c·tanh(l / c), per-token loss lse(l') − l'[target], mean over trained tokens, and the gradients.
 * A token trains iff target < V and (no mask or) mask ≠ 0.
 */

export interface CrossEntropyRef {
  /** [T] per-token loss, 0 for skipped tokens. */
  losses: Float64Array;
  /** Σ losses · scale. */
  loss: number;
  /** [T, V] dloss/dlogits (pre-cap logits). */
  dlogits: Float64Array;
  /** [T, C] dloss/dh. */
  dh: Float64Array;
  trained: number;
}

export function crossEntropyRef(
  h: ArrayLike<number>,
  w: ArrayLike<number>,
  targets: ArrayLike<number>,
  mask: ArrayLike<number> | undefined,
  T: number,
  V: number,
  C: number,
  softcap = 0,
  scale?: number,
): CrossEntropyRef {
  const trainedAt = (t: number) => targets[t]! < V && (!mask || mask[t] !== 0);
  let trained = 0;
  for (let t = 0; t < T; t++) if (trainedAt(t)) trained++;
  const s = scale ?? (trained > 0 ? 1 / trained : 0);
  const losses = new Float64Array(T);
  const dlogits = new Float64Array(T * V);
  const dh = new Float64Array(T * C);
  const row = new Float64Array(V);
  let loss = 0;
  for (let t = 0; t < T; t++) {
    if (!trainedAt(t)) continue;
    for (let v = 0; v < V; v++) {
      let l = 0;
      for (let c = 0; c < C; c++) l += h[t * C + c]! * w[v * C + c]!;
      row[v] = softcap > 0 ? softcap * Math.tanh(l / softcap) : l;
    }
    let m = -Infinity;
    for (let v = 0; v < V; v++) m = Math.max(m, row[v]!);
    let se = 0;
    for (let v = 0; v < V; v++) se += Math.exp(row[v]! - m);
    const lse = m + Math.log(se);
    const tgt = targets[t]!;
    losses[t] = lse - row[tgt]!;
    loss += losses[t]! * s;
    for (let v = 0; v < V; v++) {
      let g = Math.exp(row[v]! - lse) - (v === tgt ? 1 : 0);
      g *= s;
      if (softcap > 0) g *= 1 - (row[v]! / softcap) ** 2;
      dlogits[t * V + v] = g;
      for (let c = 0; c < C; c++) dh[t * C + c]! += g * w[v * C + c]!;
    }
  }
  return { losses, loss, dlogits, dh, trained };
}
