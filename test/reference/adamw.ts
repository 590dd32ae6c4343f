/** Float64 CPU reference of AdamW (PyTorch's formulation, decoupled weight decay) and the global gradient norm. */

export interface AdamwHyperRef {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** ‖gradScale · g‖₂ over several buffers, and clip = min(1, maxNorm / (norm + 1e-6)) (1 when maxNorm ≤ 0). */
export function gradNormRef(
  grads: readonly ArrayLike<number>[],
  gradScale = 1,
  maxNorm = 0,
): { norm: number; clip: number } {
  let ss = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) ss += g[i]! * g[i]!;
  const norm = gradScale * Math.sqrt(ss);
  return { norm, clip: maxNorm > 0 ? Math.min(1, maxNorm / (norm + 1e-6)) : 1 };
}

/** One AdamW step at step t (≥ 1), in place on param, m, v; the gradient is multiplied by gradScale · clip. */
export function adamwStepRef(
  param: Float64Array,
  grad: ArrayLike<number>,
  m: Float64Array,
  v: Float64Array,
  h: AdamwHyperRef,
  t: number,
  gradScale = 1,
  clip = 1,
): void {
  const bc1 = 1 - h.beta1 ** t;
  const bc2 = 1 - h.beta2 ** t;
  for (let i = 0; i < param.length; i++) {
    const g = grad[i]! * gradScale * clip;
    m[i] = h.beta1 * m[i]! + (1 - h.beta1) * g;
    v[i] = h.beta2 * v[i]! + (1 - h.beta2) * g * g;
    param[i] =
      param[i]! * (1 - h.lr * h.weightDecay) - (h.lr / bc1) * (m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(bc2) + h.eps));
  }
}
