/**
 * Float64 ops with hand-written backward, recorded on a Tape. Layouts are row-major:
 * x [N, K], W [M, K] (nn.Linear), q [T, H, D], k/v [T, Hkv, D].
 */
import { f16BitsRef, f16ToNumberRef } from '../quant.ts';
import { type Tape, Tensor } from './tape.ts';

const out = (shape: readonly number[]) => new Tensor(new Float64Array(shape.reduce((a, b) => a * b, 1)), shape);

/** y[N, M] = x[N, K] · W[M, K]ᵀ (+ b[M]) */
export function linear(tape: Tape, x: Tensor, w: Tensor, b?: Tensor): Tensor {
  const [N, K] = x.shape as [number, number];
  const M = w.shape[0]!;
  if (w.shape[1] !== K) throw new Error(`linear: x has ${K} features, W has ${w.shape[1]}`);
  const y = out([N, M]);
  for (let n = 0; n < N; n++)
    for (let m = 0; m < M; m++) {
      let s = b ? b.data[m]! : 0;
      for (let k = 0; k < K; k++) s += x.data[n * K + k]! * w.data[m * K + k]!;
      y.data[n * M + m] = s;
    }
  return tape.record(y, (g) => {
    const dx = new Float64Array(N * K);
    const dw = new Float64Array(M * K);
    const db = new Float64Array(M);
    for (let n = 0; n < N; n++)
      for (let m = 0; m < M; m++) {
        const gy = g[n * M + m]!;
        db[m]! += gy;
        for (let k = 0; k < K; k++) {
          dx[n * K + k]! += gy * w.data[m * K + k]!;
          dw[m * K + k]! += gy * x.data[n * K + k]!;
        }
      }
    x.accumulate(dx);
    w.accumulate(dw);
    b?.accumulate(db);
  });
}

export function add(tape: Tape, a: Tensor, b: Tensor): Tensor {
  if (a.size !== b.size) throw new Error('add: sizes differ');
  const y = out(a.shape);
  for (let i = 0; i < a.size; i++) y.data[i] = a.data[i]! + b.data[i]!;
  return tape.record(y, (g) => {
    a.accumulate(g);
    b.accumulate(g);
  });
}

export function scale(tape: Tape, a: Tensor, s: number): Tensor {
  const y = out(a.shape);
  for (let i = 0; i < a.size; i++) y.data[i] = a.data[i]! * s;
  return tape.record(y, (g) => a.accumulate(g.map((v) => v * s)));
}

/** Columns [from, from + width) of a [N, W] tensor (for fused qkv / gate_up). */
export function columns(tape: Tape, a: Tensor, from: number, width: number): Tensor {
  const [N, W] = a.shape as [number, number];
  const y = out([N, width]);
  for (let n = 0; n < N; n++) for (let j = 0; j < width; j++) y.data[n * width + j] = a.data[n * W + from + j]!;
  return tape.record(y, (g) => {
    const da = new Float64Array(N * W);
    for (let n = 0; n < N; n++) for (let j = 0; j < width; j++) da[n * W + from + j] = g[n * width + j]!;
    a.accumulate(da);
  });
}

/** RMSNorm over the last dim of size C: y = x·rsqrt(mean(x²) + eps)·(w or 1 + w). */
export function rmsnorm(tape: Tape, x: Tensor, w: Tensor, eps: number, plusOne: boolean): Tensor {
  const C = w.size;
  const rows = x.size / C;
  const y = out(x.shape);
  const rstd = new Float64Array(rows);
  const wt = (c: number) => (plusOne ? 1 + w.data[c]! : w.data[c]!);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x.data[r * C + c]! ** 2;
    rstd[r] = 1 / Math.sqrt(ss / C + eps);
    for (let c = 0; c < C; c++) y.data[r * C + c] = x.data[r * C + c]! * rstd[r]! * wt(c);
  }
  return tape.record(y, (g) => {
    const dx = new Float64Array(x.size);
    const dw = new Float64Array(C);
    for (let r = 0; r < rows; r++) {
      const s = rstd[r]!;
      let dot = 0; // Σ g·w·x
      for (let c = 0; c < C; c++) {
        dot += g[r * C + c]! * wt(c) * x.data[r * C + c]!;
        dw[c]! += g[r * C + c]! * x.data[r * C + c]! * s;
      }
      for (let c = 0; c < C; c++) {
        const xc = x.data[r * C + c]!;
        dx[r * C + c] = s * g[r * C + c]! * wt(c) - (s ** 3 * xc * dot) / C;
      }
    }
    x.accumulate(dx);
    w.accumulate(dw);
  });
}

/**
 * Rotate-half RoPE on [T, H, D] over the first `rotary` dims of each head: pair i with i + rotary/2,
 * angle = positions[t]·invFreq[i].
 */
export function rope(
  tape: Tape,
  x: Tensor,
  positions: readonly number[],
  invFreq: readonly number[],
  rotary: number,
): Tensor {
  const [T, H, D] = x.shape as [number, number, number];
  const half = rotary / 2;
  const y = out(x.shape);
  y.data.set(x.data);
  const rot = (src: Float64Array, dst: Float64Array, sign: number) => {
    for (let t = 0; t < T; t++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < half; i++) {
          const a = positions[t]! * invFreq[i]!;
          const c = Math.cos(a);
          const s = sign * Math.sin(a);
          const o = (t * H + h) * D;
          const x1 = src[o + i]!;
          const x2 = src[o + i + half]!;
          dst[o + i] = x1 * c - x2 * s;
          dst[o + i + half] = x2 * c + x1 * s;
        }
  };
  rot(x.data, y.data, 1);
  return tape.record(y, (g) => {
    const dx = Float64Array.from(g);
    rot(g, dx, -1); // the transpose of a rotation is the rotation by −angle
    x.accumulate(dx);
  });
}

/**
 * Causal attention with grouped KV heads: q [T, H, D], k/v [T, Hkv, D] → [T, H, D].
 * Token t sees s ≤ t (and s > t − window when window > 0) within the same segment; scores are soft-capped when cap > 0.
 */
export function attention(
  tape: Tape,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: { scale: number; window: number; softcap: number; segments?: readonly number[] },
): Tensor {
  const [T, H, D] = q.shape as [number, number, number];
  const Hkv = k.shape[1]!;
  const group = H / Hkv;
  const y = out(q.shape);
  const probs = new Float64Array(H * T * T); // [h][t][s]
  const raw = new Float64Array(H * T * T); // pre-cap scores
  const visible = (t: number, s: number) =>
    s <= t && (opts.window <= 0 || s > t - opts.window) && (!opts.segments || opts.segments[s] === opts.segments[t]);
  for (let h = 0; h < H; h++) {
    const kh = Math.floor(h / group);
    for (let t = 0; t < T; t++) {
      let max = -Infinity;
      for (let s = 0; s <= t; s++) {
        if (!visible(t, s)) continue;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q.data[(t * H + h) * D + d]! * k.data[(s * Hkv + kh) * D + d]!;
        const r = dot * opts.scale;
        raw[(h * T + t) * T + s] = r;
        const sc = opts.softcap > 0 ? opts.softcap * Math.tanh(r / opts.softcap) : r;
        probs[(h * T + t) * T + s] = sc;
        max = Math.max(max, sc);
      }
      let sum = 0;
      for (let s = 0; s <= t; s++) {
        const i = (h * T + t) * T + s;
        probs[i] = visible(t, s) ? Math.exp(probs[i]! - max) : 0;
        sum += probs[i]!;
      }
      for (let s = 0; s <= t; s++) {
        const p = (probs[(h * T + t) * T + s]! /= sum);
        if (p === 0) continue;
        for (let d = 0; d < D; d++) y.data[(t * H + h) * D + d]! += p * v.data[(s * Hkv + kh) * D + d]!;
      }
    }
  }
  return tape.record(y, (g) => {
    const dq = new Float64Array(q.size);
    const dk = new Float64Array(k.size);
    const dv = new Float64Array(v.size);
    for (let h = 0; h < H; h++) {
      const kh = Math.floor(h / group);
      for (let t = 0; t < T; t++) {
        // dP = g·vᵀ; dS = P ∘ (dP − Σ P∘dP)
        const dp = new Float64Array(t + 1);
        let rowDot = 0;
        for (let s = 0; s <= t; s++) {
          const p = probs[(h * T + t) * T + s]!;
          if (p === 0) continue;
          let acc = 0;
          for (let d = 0; d < D; d++) {
            acc += g[(t * H + h) * D + d]! * v.data[(s * Hkv + kh) * D + d]!;
            dv[(s * Hkv + kh) * D + d]! += p * g[(t * H + h) * D + d]!;
          }
          dp[s] = acc;
          rowDot += p * acc;
        }
        for (let s = 0; s <= t; s++) {
          const p = probs[(h * T + t) * T + s]!;
          if (p === 0) continue;
          let ds = p * (dp[s]! - rowDot);
          if (opts.softcap > 0) ds *= 1 - Math.tanh(raw[(h * T + t) * T + s]! / opts.softcap) ** 2;
          ds *= opts.scale;
          for (let d = 0; d < D; d++) {
            dq[(t * H + h) * D + d]! += ds * k.data[(s * Hkv + kh) * D + d]!;
            dk[(s * Hkv + kh) * D + d]! += ds * q.data[(t * H + h) * D + d]!;
          }
        }
      }
    }
    q.accumulate(dq);
    k.accumulate(dk);
    v.accumulate(dv);
  });
}

/** f16 rounding (to nearest even) of a value. */
const toF16 = (x: number): number => f16ToNumberRef(f16BitsRef(x));

/**
 * act(gate)·up with act = silu or the tanh-approximated gelu. `geluF16Table` computes the gelu as llama.cpp's CPU
 * backend does (ggml_vec_geglu_f32 with GGML_GELU_FP16): x ≤ −10 → 0, x ≥ 10 → x, else the gate rounded to f16 looks
 * up a table of f16-rounded gelu values. Its gradient is the exact gelu's (the option is for forward comparisons).
 */
export function glu(tape: Tape, gate: Tensor, up: Tensor, act: 'silu' | 'gelu_tanh', geluF16Table = false): Tensor {
  const y = out(gate.shape);
  const k = Math.sqrt(2 / Math.PI);
  const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(k * (x + 0.044715 * x ** 3)));
  const geluTable = (x: number) => (x <= -10 ? 0 : x >= 10 ? x : toF16(gelu(toF16(x))));
  const f = (x: number) => (act === 'silu' ? x / (1 + Math.exp(-x)) : geluF16Table ? geluTable(x) : gelu(x));
  const df = (x: number) => {
    if (act === 'silu') {
      const s = 1 / (1 + Math.exp(-x));
      return s * (1 + x * (1 - s));
    }
    const u = k * (x + 0.044715 * x ** 3);
    const th = Math.tanh(u);
    return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * k * (1 + 3 * 0.044715 * x * x);
  };
  for (let i = 0; i < y.size; i++) y.data[i] = f(gate.data[i]!) * up.data[i]!;
  return tape.record(y, (g) => {
    gate.accumulate(g.map((gv, i) => gv * df(gate.data[i]!) * up.data[i]!));
    up.accumulate(g.map((gv, i) => gv * f(gate.data[i]!)));
  });
}

/** c·tanh(x/c) */
export function softcap(tape: Tape, x: Tensor, c: number): Tensor {
  const y = out(x.shape);
  for (let i = 0; i < x.size; i++) y.data[i] = c * Math.tanh(x.data[i]! / c);
  return tape.record(y, (g) => x.accumulate(g.map((gv, i) => gv * (1 - Math.tanh(x.data[i]! / c) ** 2))));
}

/** Rows of the embedding table [V, C] for `ids`, times `mult`. */
export function embed(tape: Tape, table: Tensor, ids: readonly number[], mult: number): Tensor {
  const C = table.shape[1]!;
  const y = out([ids.length, C]);
  ids.forEach((id, t) => {
    for (let c = 0; c < C; c++) y.data[t * C + c] = table.data[id * C + c]! * mult;
  });
  return tape.record(y, (g) => {
    const dt = new Float64Array(table.size);
    ids.forEach((id, t) => {
      for (let c = 0; c < C; c++) dt[id * C + c]! += g[t * C + c]! * mult;
    });
    table.accumulate(dt);
  });
}

/**
 * Mean cross-entropy over the tokens whose mask is 1: logits [T, V], targets [T].
 * `denominator` overrides the count (the trainer divides by the unmasked tokens of the whole accumulated batch).
 */
export function crossEntropy(
  tape: Tape,
  logits: Tensor,
  targets: readonly number[],
  mask: readonly number[],
  denominator?: number,
): Tensor {
  const [T, V] = logits.shape as [number, number];
  const count = denominator ?? mask.reduce((a, b) => a + b, 0);
  const probs = new Float64Array(T * V);
  let loss = 0;
  for (let t = 0; t < T; t++) {
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits.data[t * V + v]!);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += probs[t * V + v] = Math.exp(logits.data[t * V + v]! - max);
    for (let v = 0; v < V; v++) probs[t * V + v]! /= sum;
    if (mask[t]) loss -= Math.log(probs[t * V + targets[t]!]!);
  }
  const y = new Tensor(new Float64Array([count > 0 ? loss / count : 0]), [1]);
  return tape.record(y, (g) => {
    const dl = new Float64Array(T * V);
    for (let t = 0; t < T; t++) {
      if (!mask[t]) continue;
      for (let v = 0; v < V; v++) dl[t * V + v] = (g[0]! * (probs[t * V + v]! - (v === targets[t] ? 1 : 0))) / count;
    }
    logits.accumulate(dl);
  });
}
