/** Float64 reference of the embedding gather: out[n, c] = W[ids[n], c] · scale, zero rows for ids ≥ V. */
export function embeddingRef(
  table: ArrayLike<number>,
  V: number,
  C: number,
  ids: ArrayLike<number>,
  scale: number,
): Float64Array {
  const N = ids.length;
  const out = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    const id = ids[n]!;
    if (id >= V) continue; // out-of-range id: a row of zeros
    for (let c = 0; c < C; c++) out[n * C + c] = table[id * C + c]! * scale;
  }
  return out;
}
