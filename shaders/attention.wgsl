// Causal attention with grouped KV heads, flash-style: online softmax over key tiles held in workgroup memory,
// the [T, T] score matrix is never stored (memory grows with T·D), and the backward recomputes it (FlashAttention-2).
// Shapes: B rows of T tokens, flattened to N = B·T; q, out, dout, dq [N, H, D]; k, v, dk, dv [N, Hkv, D];
// lse [N, H] (natural log-sum-exp of each query's logits), stats vec2 [N, H] = (lse, Δ = Σ_d dout·out) for the
// backward; seg u32 [N] (segment id per token, non-decreasing along each row; any 4-byte buffer when unused).
// G = H / Hkv: query head h reads kv head h / G.
//   mask:  query t may attend key s of its row iff s ≤ t, (window = 0 or t − s < window), (no segments or seg[s] = seg[t])
//   logit: x = scale·q·k, then x ← c·tanh(x/c) when softcap c > 0 (gemma2), out = softmax(x)·v
// Query "rows" of one (batch row b, kv head hk) are the pairs f = t·G + g (token t, query head hk·G + g): a
// query tile of BR rows spans a few tokens of all the group's heads, so each K/V tile loaded serves the whole group
// and the dk/dv kernel sums over the group's heads without atomics.
// Softmax runs in base 2 (exp2/log2 with log2(e) folded in); masked logits are the finite sentinel NEG and their
// probabilities are forced to 0, so no infinities are ever formed. Key tiles that the mask empties for the whole
// workgroup (above the diagonal, before the window or before the first query's segment) are skipped.
// Tiles in workgroup memory are rows of D4 = ⌈D/4⌉ vec4 (zero-padded past D), so the dot products and the
// accumulations run on 128-bit loads; the row stride D4 | 1 is odd so column walks do not collide on banks.
// Accumulation: f32 throughout. HEAD_DIM ≤ 32·TPR (the per-invocation column registers).

override HEAD_DIM: u32 = 64u;
override BR: u32 = 16u;   // query rows per workgroup (forward, dq) or per step (dk/dv)
override BC: u32 = 16u;   // keys per step (forward, dq) or per workgroup (dk/dv)
override TPR: u32 = 8u;   // invocations sharing one query row (forward, dq) or one key (dk/dv)
override WG_DELTA: u32 = 64u;
const MAX_COLS4: u32 = 8u; // vec4 column groups per invocation: ⌈D4/TPR⌉ ≤ 8
const NEG: f32 = -1.0e30;
const LIVE: f32 = -1.0e29; // logits above this are real, below it masked
const LOG2E: f32 = 1.4426950408889634;
const LN2: f32 = 0.6931471805599453;

struct Params {
  B: u32,
  T: u32,
  H: u32,
  Hkv: u32,
  group: u32,         // G = H / Hkv
  window: u32,        // 0: none
  has_segments: u32,  // 1: seg is read
  scale: f32,
  softcap: f32,       // 0: off
}

@group(0) @binding(0) var<uniform> params: Params;

fn d4() -> u32 { return (HEAD_DIM + 3u) / 4u; }
fn dp4() -> u32 { return d4() | 1u; }              // row stride of a tile, in vec4
fn cols4() -> u32 { return (d4() + TPR - 1u) / TPR; } // vec4 column groups j4 ≡ g (mod TPR) of one invocation

fn q_offset(b: u32, t: u32, h: u32) -> u32 { return ((b * params.T + t) * params.H + h) * HEAD_DIM; }
fn kv_offset(b: u32, s: u32, hk: u32) -> u32 { return ((b * params.T + s) * params.Hkv + hk) * HEAD_DIM; }

// tanh without overflow for large |y| and with full relative precision near 0 (via an accurate expm1).
fn tanh_f32(y: f32) -> f32 {
  let a = min(abs(y), 15.0);
  let z = -2.0 * a;
  var u: f32; // expm1(z), z in [−30, 0]
  if (z > -0.5) {
    u = z * (1.0 + z * (0.5 + z * (1.6666666666666666e-1 + z * (4.1666666666666664e-2 + z * (8.333333333333333e-3
        + z * (1.388888888888889e-3 + z * (1.984126984126984e-4 + z * (2.48015873015873e-5 + z * 2.7557319223985893e-6))))))));
  } else {
    u = exp(z) - 1.0;
  }
  let t = -u / (2.0 + u);
  return select(t, -t, y < 0.0);
}

// (capped logit, d capped / d x) for raw logit x.
fn cap(x: f32) -> vec2<f32> {
  if (params.softcap > 0.0) {
    let th = tanh_f32(x / params.softcap);
    return vec2<f32>(params.softcap * th, 1.0 - th * th);
  }
  return vec2<f32>(x, 1.0);
}

fn allowed(t: u32, s: u32, seg_t: u32, seg_s: u32) -> bool {
  return s <= t && (params.window == 0u || t - s < params.window) && (params.has_segments == 0u || seg_t == seg_s);
}

// ---------------------------------------------------------------------------------------------------------------
// Bindings shared by the three tiled kernels.
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> seg: array<u32>;

// Four consecutive elements d..d+3 of a row starting at o (zeros past HEAD_DIM).
fn q4(o: u32, d: u32) -> vec4<f32> {
  var x = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) { if (d + e < HEAD_DIM) { x[e] = q[o + d + e]; } }
  return x;
}
fn k4(o: u32, d: u32) -> vec4<f32> {
  var x = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) { if (d + e < HEAD_DIM) { x[e] = k[o + d + e]; } }
  return x;
}
fn v4(o: u32, d: u32) -> vec4<f32> {
  var x = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) { if (d + e < HEAD_DIM) { x[e] = v[o + d + e]; } }
  return x;
}

fn seg_of(b: u32, t: u32) -> u32 {
  if (params.has_segments == 1u) { return seg[b * params.T + t]; }
  return 0u;
}

// First index i in [lo, hi) with seg[row b, i] ≥ value (hi if none); ids are non-decreasing along a row.
fn seg_lower_bound(b: u32, lo_in: u32, hi_in: u32, value: u32) -> u32 {
  var lo = lo_in;
  var hi = hi_in;
  while (lo < hi) {
    let mid = lo + (hi - lo) / 2u;
    if (seg[b * params.T + mid] < value) { lo = mid + 1u; } else { hi = mid; }
  }
  return lo;
}

// First index i in [lo, hi) with seg[row b, i] > value (hi if none).
fn seg_upper_bound(b: u32, lo_in: u32, hi_in: u32, value: u32) -> u32 {
  var lo = lo_in;
  var hi = hi_in;
  while (lo < hi) {
    let mid = lo + (hi - lo) / 2u;
    if (seg[b * params.T + mid] <= value) { lo = mid + 1u; } else { hi = mid; }
  }
  return lo;
}

// First key that query token t0 (the earliest of a tile) may attend; later queries of the tile start no earlier.
fn first_key(b: u32, t0: u32) -> u32 {
  var lo = 0u;
  if (params.window > 0u && t0 + 1u > params.window) { lo = t0 + 1u - params.window; }
  if (params.has_segments == 1u) { lo = seg_lower_bound(b, lo, t0, seg[b * params.T + t0]); }
  return lo;
}

// Last query token that key s1 (the latest valid key of a tile) can serve; earlier keys of the tile serve no later.
fn last_query(b: u32, s1: u32) -> u32 {
  var hi = params.T - 1u;
  if (params.window > 0u) { hi = min(hi, s1 + params.window - 1u); }
  if (params.has_segments == 1u) { hi = seg_upper_bound(b, s1, hi + 1u, seg[b * params.T + s1]) - 1u; }
  return hi;
}

// A query row of the tile: whether it exists, its token and its query head.
struct QRow {
  ok: bool,
  t: u32,
  h: u32,
}

fn qrow(f: u32, hk: u32) -> QRow {
  let G = params.group;
  let ok = f < params.T * G;
  let ff = select(0u, f, ok);
  return QRow(ok, ff / G, hk * G + ff % G);
}

var<workgroup> q_s: array<vec4<f32>, BR * (((HEAD_DIM + 3u) / 4u) | 1u)>;
var<workgroup> k_s: array<vec4<f32>, BC * (((HEAD_DIM + 3u) / 4u) | 1u)>;
var<workgroup> v_s: array<vec4<f32>, BC * (((HEAD_DIM + 3u) / 4u) | 1u)>;
var<workgroup> s_s: array<f32, BR * BC>;
var<workgroup> kseg_s: array<u32, BC>;

// Stages query rows f0..f0+BR-1 of q into q_s (zeros past the end).
fn load_q_rows(f0: u32, b: u32, hk: u32, lid: u32, threads: u32) {
  for (var i = lid; i < BR * d4(); i += threads) {
    let r = i / d4();
    let j4 = i % d4();
    let row = qrow(f0 + r, hk);
    var x = vec4<f32>(0.0);
    if (row.ok) { x = q4(q_offset(b, row.t, row.h), 4u * j4); }
    q_s[r * dp4() + j4] = x;
  }
}

// Stages keys s0..s0+BC-1 (≤ s_end) of k and v, and their segment ids.
fn load_kv_tile(s0: u32, s_end: u32, b: u32, hk: u32, lid: u32, threads: u32) {
  for (var i = lid; i < BC * d4(); i += threads) {
    let c = i / d4();
    let j4 = i % d4();
    var kx = vec4<f32>(0.0);
    var vx = vec4<f32>(0.0);
    if (s0 + c <= s_end) {
      let o = kv_offset(b, s0 + c, hk);
      kx = k4(o, 4u * j4);
      vx = v4(o, 4u * j4);
    }
    k_s[c * dp4() + j4] = kx;
    v_s[c * dp4() + j4] = vx;
  }
  for (var c = lid; c < BC; c += threads) {
    kseg_s[c] = seg_of(b, min(s0 + c, s_end));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Forward: out = softmax(mask(cap(scale·q·kᵀ)))·v per (row, head), lse = log Σ exp(logits).
// Bindings: q [N, H, D], k [N, Hkv, D], v [N, Hkv, D], seg u32 [N], out [N, H, D], lse [N, H].
// Saves lse for the backward (with q, k, v, out). Dispatch: (ceil(T·G / BR), Hkv, B), workgroup BR·TPR;
// invocation (r, g) owns query row r, keys c ≡ g (mod TPR) of each tile (logit, exp: once per pair) and the
// output columns 4·j4..4·j4+3 for j4 ≡ g (mod TPR); the row max and sum combine the TPR invocations' partials
// through red_s.
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;

var<workgroup> red_s: array<f32, BR * TPR>; // per-invocation partial max, then partial sum

@compute @workgroup_size(BR * TPR)
fn attention_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.z;
  let hk = wid.y;
  let f0 = wid.x * BR;
  let G = params.group;
  let r = lid / TPR;
  let g = lid % TPR;
  let row = qrow(f0 + r, hk);
  let t0 = f0 / G;
  let t1 = (min(f0 + BR, params.T * G) - 1u) / G;
  let my_seg = seg_of(b, row.t);

  load_q_rows(f0, b, hk, lid, BR * TPR);
  var m = NEG;      // running max of the row (base-2 logits), the same in all TPR invocations of the row
  var l = 0.0;      // this invocation's share of the running Σ exp2(x − m): its own keys c ≡ g (mod TPR)
  var acc: array<vec4<f32>, MAX_COLS4>;
  for (var s0 = first_key(b, t0); s0 <= t1; s0 += BC) {
    workgroupBarrier(); // q_s is staged; the previous tile is consumed
    load_kv_tile(s0, t1, b, hk, lid, BR * TPR);
    workgroupBarrier();
    // Logits of this invocation's keys, and their max.
    var m_part = NEG;
    for (var c = g; c < BC; c += TPR) {
      let s = s0 + c;
      var x = NEG;
      if (row.ok && s <= t1 && allowed(row.t, s, my_seg, kseg_s[c])) {
        var qk = 0.0;
        for (var j4 = 0u; j4 < d4(); j4++) { qk += dot(q_s[r * dp4() + j4], k_s[c * dp4() + j4]); }
        x = cap(qk * params.scale).x * LOG2E;
      }
      s_s[r * BC + c] = x;
      m_part = max(m_part, x);
    }
    red_s[lid] = m_part;
    workgroupBarrier();
    // Row max over the TPR partial maxima; each invocation turns its own logits into probabilities.
    var m_new = m;
    for (var i = 0u; i < TPR; i++) { m_new = max(m_new, red_s[r * TPR + i]); }
    let alpha = exp2(m - m_new);
    l *= alpha;
    for (var c = g; c < BC; c += TPR) {
      let x = s_s[r * BC + c];
      let p = select(0.0, exp2(x - m_new), x > LIVE);
      l += p;
      s_s[r * BC + c] = p;
    }
    m = m_new;
    workgroupBarrier();
    for (var j = 0u; j < cols4(); j++) { acc[j] *= alpha; }
    for (var c = 0u; c < BC; c++) {
      let p = s_s[r * BC + c];
      for (var j = 0u; j < cols4(); j++) {
        let j4 = g + j * TPR;
        if (j4 < d4()) { acc[j] = fma(vec4<f32>(p), v_s[c * dp4() + j4], acc[j]); }
      }
    }
  }
  // Row sum of the partial sums.
  workgroupBarrier();
  red_s[lid] = l;
  workgroupBarrier();
  var l_row = 0.0;
  for (var i = 0u; i < TPR; i++) { l_row += red_s[r * TPR + i]; }
  if (!row.ok) { return; }
  let inv = 1.0 / l_row;
  let o = q_offset(b, row.t, row.h);
  for (var j = 0u; j < cols4(); j++) {
    let d = 4u * (g + j * TPR);
    for (var e = 0u; e < 4u; e++) { if (d + e < HEAD_DIM) { out[o + d + e] = acc[j][e] * inv; } }
  }
  if (g == 0u) { lse[(b * params.T + row.t) * params.H + row.h] = (m + log2(l_row)) * LN2; }
}

// ---------------------------------------------------------------------------------------------------------------
// Backward, step 1: stats[n, h] = (lse[n, h], Δ[n, h] = Σ_d dout[n, h, d]·out[n, h, d]).
// Bindings: out [N, H, D], dout [N, H, D], lse [N, H], stats vec2 [N, H] (written). Dispatch: ceil(N·H / WG_DELTA)
// workgroups folded to 2-D (id = wid.x + wid.y·num_workgroups.x), one invocation per (token, head).
@group(0) @binding(1) var<storage, read> fwd_out: array<f32>;
@group(0) @binding(2) var<storage, read> delta_dout: array<f32>;
@group(0) @binding(3) var<storage, read> fwd_lse: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats_out: array<vec2<f32>>;

@compute @workgroup_size(WG_DELTA)
fn attention_backward_delta(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG_DELTA + lid;
  if (i >= params.B * params.T * params.H) { return; }
  var sum = 0.0;
  let o = i * HEAD_DIM;
  for (var d = 0u; d < HEAD_DIM; d++) { sum = fma(delta_dout[o + d], fwd_out[o + d], sum); }
  stats_out[i] = vec2<f32>(fwd_lse[i], sum);
}

// Shared by dq and dk/dv: dout rows and the row statistics.
@group(0) @binding(5) var<storage, read> dout: array<f32>;
@group(0) @binding(6) var<storage, read> stats: array<vec2<f32>>;

var<workgroup> do_s: array<vec4<f32>, BR * (((HEAD_DIM + 3u) / 4u) | 1u)>;

fn load_dout_rows(f0: u32, b: u32, hk: u32, lid: u32, threads: u32) {
  for (var i = lid; i < BR * d4(); i += threads) {
    let r = i / d4();
    let j4 = i % d4();
    let row = qrow(f0 + r, hk);
    var x = vec4<f32>(0.0);
    if (row.ok) {
      let o = q_offset(b, row.t, row.h) + 4u * j4;
      for (var e = 0u; e < 4u; e++) { if (4u * j4 + e < HEAD_DIM) { x[e] = dout[o + e]; } }
    }
    do_s[r * dp4() + j4] = x;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Backward, step 2: dq = scale·Σ_s dX[t, s]·k[s], dX = P ∘ (dP − Δ) ∘ cap', P = exp(logit − lse), dP = dout·vᵀ.
// Bindings: q, k, v, seg as the forward, dout [N, H, D], stats vec2 [N, H], dq [N, H, D] (written).
// Dispatch and invocation mapping as the forward; dX of a tile goes through s_s.
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;

@compute @workgroup_size(BR * TPR)
fn attention_backward_dq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.z;
  let hk = wid.y;
  let f0 = wid.x * BR;
  let G = params.group;
  let r = lid / TPR;
  let g = lid % TPR;
  let row = qrow(f0 + r, hk);
  let t0 = f0 / G;
  let t1 = (min(f0 + BR, params.T * G) - 1u) / G;
  let my_seg = seg_of(b, row.t);
  var st = vec2<f32>(0.0, 0.0);
  if (row.ok) { st = stats[(b * params.T + row.t) * params.H + row.h]; }
  let lse2 = st.x * LOG2E;

  load_q_rows(f0, b, hk, lid, BR * TPR);
  load_dout_rows(f0, b, hk, lid, BR * TPR);
  var acc: array<vec4<f32>, MAX_COLS4>;
  for (var s0 = first_key(b, t0); s0 <= t1; s0 += BC) {
    workgroupBarrier();
    load_kv_tile(s0, t1, b, hk, lid, BR * TPR);
    workgroupBarrier();
    for (var c = g; c < BC; c += TPR) {
      let s = s0 + c;
      var dx = 0.0;
      if (row.ok && s <= t1 && allowed(row.t, s, my_seg, kseg_s[c])) {
        var qk = 0.0;
        var dpv = 0.0;
        for (var j4 = 0u; j4 < d4(); j4++) {
          qk += dot(q_s[r * dp4() + j4], k_s[c * dp4() + j4]);
          dpv += dot(do_s[r * dp4() + j4], v_s[c * dp4() + j4]);
        }
        let cx = cap(qk * params.scale);
        let p = exp2(cx.x * LOG2E - lse2);
        dx = p * (dpv - st.y) * cx.y;
      }
      s_s[r * BC + c] = dx;
    }
    workgroupBarrier();
    for (var c = 0u; c < BC; c++) {
      let dx = s_s[r * BC + c];
      for (var j = 0u; j < cols4(); j++) {
        let j4 = g + j * TPR;
        if (j4 < d4()) { acc[j] = fma(vec4<f32>(dx), k_s[c * dp4() + j4], acc[j]); }
      }
    }
  }
  if (!row.ok) { return; }
  let o = q_offset(b, row.t, row.h);
  for (var j = 0u; j < cols4(); j++) {
    let d = 4u * (g + j * TPR);
    for (var e = 0u; e < 4u; e++) { if (d + e < HEAD_DIM) { dq[o + d + e] = acc[j][e] * params.scale; } }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Backward, step 3: for one tile of BC keys of kv head hk, over every query row (t, g) that can see them:
//   dv[s] = Σ P[f, s]·dout[f],   dk[s] = scale·Σ dX[f, s]·q[f]   (f over tokens and the G heads of the group).
// Bindings: q, k, v, seg as the forward, dout [N, H, D], stats vec2 [N, H], dk, dv [N, Hkv, D] (written).
// Dispatch: (ceil(T / BC), Hkv, B), workgroup BC·TPR; invocation (c, g) owns key c, query rows r ≡ g (mod TPR)
// of each step and output columns 4·j4..4·j4+3 for j4 ≡ g (mod TPR). Query rows come in steps of BR through
// q_s / do_s.
@group(0) @binding(7) var<storage, read_write> dk: array<f32>;
@group(0) @binding(8) var<storage, read_write> dv: array<f32>;

var<workgroup> p_s: array<f32, BR * BC>;
var<workgroup> rtok_s: array<u32, BR>;  // token of each staged query row (0xffffffff: none)
var<workgroup> rseg_s: array<u32, BR>;
var<workgroup> rstat_s: array<vec2<f32>, BR>; // (lse·log2 e, Δ)

@compute @workgroup_size(BC * TPR)
fn attention_backward_dkdv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.z;
  let hk = wid.y;
  let s0 = wid.x * BC;
  let G = params.group;
  let c = lid / TPR;
  let g = lid % TPR;
  let s = s0 + c;
  let key_ok = s < params.T;
  let s_end = min(s0 + BC, params.T) - 1u;
  let my_seg = seg_of(b, min(s, s_end));
  let tq_end = last_query(b, s_end);

  load_kv_tile(s0, s_end, b, hk, lid, BC * TPR);
  var acc_k: array<vec4<f32>, MAX_COLS4>;
  var acc_v: array<vec4<f32>, MAX_COLS4>;
  let f_end = (tq_end + 1u) * G;
  for (var f0 = s0 * G; f0 < f_end; f0 += BR) {
    workgroupBarrier(); // k_s / v_s staged; the previous step is consumed
    load_q_rows(f0, b, hk, lid, BC * TPR);
    load_dout_rows(f0, b, hk, lid, BC * TPR);
    for (var r = lid; r < BR; r += BC * TPR) {
      let row = qrow(f0 + r, hk);
      if (row.ok && f0 + r < f_end) {
        rtok_s[r] = row.t;
        rseg_s[r] = seg_of(b, row.t);
        let st = stats[(b * params.T + row.t) * params.H + row.h];
        rstat_s[r] = vec2<f32>(st.x * LOG2E, st.y);
      } else {
        rtok_s[r] = 0xffffffffu;
        rseg_s[r] = 0u;
        rstat_s[r] = vec2<f32>(0.0, 0.0);
      }
    }
    workgroupBarrier();
    for (var r = g; r < BR; r += TPR) {
      var p = 0.0;
      var dx = 0.0;
      let t = rtok_s[r];
      if (key_ok && t != 0xffffffffu && allowed(t, s, rseg_s[r], my_seg)) {
        var qk = 0.0;
        var dpv = 0.0;
        for (var j4 = 0u; j4 < d4(); j4++) {
          qk += dot(q_s[r * dp4() + j4], k_s[c * dp4() + j4]);
          dpv += dot(do_s[r * dp4() + j4], v_s[c * dp4() + j4]);
        }
        let cx = cap(qk * params.scale);
        let st = rstat_s[r];
        p = exp2(cx.x * LOG2E - st.x);
        dx = p * (dpv - st.y) * cx.y;
      }
      p_s[r * BC + c] = p;
      s_s[r * BC + c] = dx;
    }
    workgroupBarrier();
    for (var r = 0u; r < BR; r++) {
      let p = p_s[r * BC + c];
      let dx = s_s[r * BC + c];
      for (var j = 0u; j < cols4(); j++) {
        let j4 = g + j * TPR;
        if (j4 < d4()) {
          acc_v[j] = fma(vec4<f32>(p), do_s[r * dp4() + j4], acc_v[j]);
          acc_k[j] = fma(vec4<f32>(dx), q_s[r * dp4() + j4], acc_k[j]);
        }
      }
    }
  }
  if (!key_ok) { return; }
  let o = kv_offset(b, s, hk);
  for (var j = 0u; j < cols4(); j++) {
    let d = 4u * (g + j * TPR);
    for (var e = 0u; e < 4u; e++) {
      if (d + e < HEAD_DIM) {
        dk[o + d + e] = acc_k[j][e] * params.scale;
        dv[o + d + e] = acc_v[j][e];
      }
    }
  }
}
