/**
 * Float64 CPU reference of causal attention with grouped KV heads, sliding window, logit soft-capping and packing.
 * Tokens are B rows of T: q, out [B·T, H, D]; k, v [B·T, Hkv, D]; lse [B·T, H]. Head h reads kv head h / (H/Hkv).
 * Query t of a row attends to key s of the same row iff s ≤ t, (window = 0 or t − s < window) and
 * (no segments or seg[s] = seg[t]). Logit x = scale·q·k, then c·tanh(x/c) when softcap c > 0.
 * Plain loops over the full score matrix of each (row, head): readable, O(T²·D).
 */

export interface AttentionRefShape {
  B: number;
  T: number;
  H: number;
  Hkv: number;
  D: number;
  scale: number;
  window: number;
  softcap: number;
  /** Segment id per token [B·T], or undefined for one segment per row. */
  segments?: ArrayLike<number>;
}

function allowed(s: AttentionRefShape, b: number, t: number, j: number): boolean {
  if (j > t) return false;
  if (s.window > 0 && t - j >= s.window) return false;
  if (s.segments && s.segments[b * s.T + j] !== s.segments[b * s.T + t]) return false;
  return true;
}

/** Raw logit x = scale·q[t,h]·k[j,hk] and its capped value; dcap = d capped / d x. */
function logit(
  s: AttentionRefShape,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  b: number,
  t: number,
  j: number,
  h: number,
): { capped: number; dcap: number } {
  const hk = Math.floor(h / (s.H / s.Hkv));
  const qo = ((b * s.T + t) * s.H + h) * s.D;
  const ko = ((b * s.T + j) * s.Hkv + hk) * s.D;
  let dot = 0;
  for (let d = 0; d < s.D; d++) dot += q[qo + d]! * k[ko + d]!;
  const x = s.scale * dot;
  if (s.softcap > 0) {
    const th = Math.tanh(x / s.softcap);
    return { capped: s.softcap * th, dcap: 1 - th * th };
  }
  return { capped: x, dcap: 1 };
}

/** Softmax probabilities of one query row over keys 0..t (0 where masked) and its log-sum-exp. */
function probabilities(
  s: AttentionRefShape,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  b: number,
  t: number,
  h: number,
): { p: Float64Array; dcap: Float64Array; lse: number } {
  const x = new Float64Array(t + 1).fill(-Infinity);
  const dcap = new Float64Array(t + 1);
  let m = -Infinity;
  for (let j = 0; j <= t; j++) {
    if (!allowed(s, b, t, j)) continue;
    const l = logit(s, q, k, b, t, j, h);
    x[j] = l.capped;
    dcap[j] = l.dcap;
    m = Math.max(m, l.capped);
  }
  let sum = 0;
  for (let j = 0; j <= t; j++) sum += Math.exp(x[j]! - m);
  const p = x.map((xj) => Math.exp(xj - m) / sum);
  return { p, dcap, lse: m + Math.log(sum) };
}

export function attentionForwardRef(
  s: AttentionRefShape,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
): { out: Float64Array; lse: Float64Array } {
  const { B, T, H, Hkv, D } = s;
  const out = new Float64Array(B * T * H * D);
  const lse = new Float64Array(B * T * H);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < H; h++) {
        const hk = Math.floor(h / (H / Hkv));
        const { p, lse: l } = probabilities(s, q, k, b, t, h);
        lse[(b * T + t) * H + h] = l;
        const o = ((b * T + t) * H + h) * D;
        for (let j = 0; j <= t; j++) {
          if (p[j] === 0) continue;
          const vo = ((b * T + j) * Hkv + hk) * D;
          for (let d = 0; d < D; d++) out[o + d]! += p[j]! * v[vo + d]!;
        }
      }
    }
  }
  return { out, lse };
}

/**
 * Gradients of L = Σ dout ⊙ out by hand: with P the softmax row and dP[j] = dout·v[j],
 *   dv[j] += P[j]·dout,   dX[j] = P[j]·(dP[j] − Σ_j' P[j']·dP[j'])·dcap[j],
 *   dq += scale·dX[j]·k[j],   dk[j] += scale·dX[j]·q.
 */
export function attentionBackwardRef(
  s: AttentionRefShape,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  dout: ArrayLike<number>,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const { B, T, H, Hkv, D } = s;
  const dq = new Float64Array(B * T * H * D);
  const dk = new Float64Array(B * T * Hkv * D);
  const dv = new Float64Array(B * T * Hkv * D);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < H; h++) {
        const hk = Math.floor(h / (H / Hkv));
        const { p, dcap } = probabilities(s, q, k, b, t, h);
        const qo = ((b * T + t) * H + h) * D;
        const dP = new Float64Array(t + 1);
        let rowDot = 0;
        for (let j = 0; j <= t; j++) {
          if (p[j] === 0) continue;
          const vo = ((b * T + j) * Hkv + hk) * D;
          for (let d = 0; d < D; d++) dP[j]! += dout[qo + d]! * v[vo + d]!;
          rowDot += p[j]! * dP[j]!;
        }
        for (let j = 0; j <= t; j++) {
          if (p[j] === 0) continue;
          const ko = ((b * T + j) * Hkv + hk) * D;
          const dX = p[j]! * (dP[j]! - rowDot) * dcap[j]!;
          for (let d = 0; d < D; d++) {
            dv[ko + d]! += p[j]! * dout[qo + d]!;
            dq[qo + d]! += s.scale * dX * k[ko + d]!;
            dk[ko + d]! += s.scale * dX * q[qo + d]!;
          }
        }
      }
    }
  }
  return { dq, dk, dv };
}
