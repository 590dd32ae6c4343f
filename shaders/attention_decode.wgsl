// Attention for generation with a KV cache, split over the cache length (flash-decoding): n new query tokens at
// positions p0..p0+n-1 attend to cache positions [0, p0+n) of one layer's k and v caches, laid out [S_max, Hkv, D]
// (position-major, the same row layout as the training kernel's k and v, so a prefill's k and v append with one copy).
// Shapes: q, out [n, H, D]; kc, vc [S_max, Hkv, D] (rows ≥ p0+n are never read); part [splits, n, H, D + 2].
// G = H / Hkv: query head h reads kv head h / G.
//   mask:  the query at position p may attend cache position s iff s ≤ p and (window = 0 or p − s < window)
//   logit: x = scale·q·k, then x ← c·tanh(x/c) when softcap c > 0 (gemma2), out = softmax(x)·v
// Step 1 (split): the key range [0, p0+n) is cut into `splits` chunks of `chunk` keys; one workgroup per
// (tile of BR query rows, kv head, chunk) runs an online softmax over its chunk and writes an unnormalized partial
// (acc = Σ exp2(x − m)·v, m = max x in base 2, l = Σ exp2(x − m)). Query rows of one kv head are the pairs
// f = i·G + g (token i, query head hk·G + g), so every K/V tile staged in workgroup memory serves the whole group.
// Step 2 (combine): out = Σ_j 2^(m_j − M)·acc_j / Σ_j 2^(m_j − M)·l_j with M = max_j m_j, per (token, head).
// A chunk that the mask empties for a row leaves m = NEG, l = 0, acc = 0 and gets weight 0; every row sees its own
// position, so some chunk always has a live key. No atomics; masked logits are the finite sentinel NEG.
// Accumulation: f32 throughout. Tiles in workgroup memory are rows of D4 = ⌈D/4⌉ vec4 (zero-padded past D) with the
// odd row stride D4 | 1.

override HEAD_DIM: u32 = 64u;
override BR: u32 = 4u;          // query rows per workgroup (split)
override BC: u32 = 16u;         // keys per step (split)
override WG: u32 = 64u;         // invocations per workgroup (split)
override WG_COMBINE: u32 = 64u; // invocations per workgroup (combine)
const MAX_PAIRS: u32 = 8u;      // (row, vec4 column) accumulator pairs per invocation: BR·D4 ≤ MAX_PAIRS·WG
const NEG: f32 = -1.0e30;
const LIVE: f32 = -1.0e29;
const LOG2E: f32 = 1.4426950408889634;

struct Params {
  n: u32,        // new query tokens
  H: u32,
  Hkv: u32,
  group: u32,    // G = H / Hkv
  p0: u32,       // position of the first new token; keys [0, p0 + n)
  window: u32,   // 0: none
  chunk: u32,    // keys per split
  splits: u32,
  scale: f32,
  softcap: f32,  // 0: off
}

@group(0) @binding(0) var<uniform> params: Params;

fn d4() -> u32 { return (HEAD_DIM + 3u) / 4u; }
fn dp4() -> u32 { return d4() | 1u; }
fn part_stride() -> u32 { return HEAD_DIM + 2u; }

// tanh without overflow for large |y| and with full relative precision near 0 (via an accurate expm1).
fn tanh_f32(y: f32) -> f32 {
  let a = min(abs(y), 15.0);
  let z = -2.0 * a;
  var u: f32;
  if (z > -0.5) {
    u = z * (1.0 + z * (0.5 + z * (1.6666666666666666e-1 + z * (4.1666666666666664e-2 + z * (8.333333333333333e-3
        + z * (1.388888888888889e-3 + z * (1.984126984126984e-4 + z * (2.48015873015873e-5 + z * 2.7557319223985893e-6))))))));
  } else {
    u = exp(z) - 1.0;
  }
  let t = -u / (2.0 + u);
  return select(t, -t, y < 0.0);
}

fn cap(x: f32) -> f32 {
  if (params.softcap > 0.0) { return params.softcap * tanh_f32(x / params.softcap); }
  return x;
}

// ---------------------------------------------------------------------------------------------------------------
// Step 1: partial softmax-weighted sums of one chunk of the cache.
// Bindings: q [n, H, D], kc [S_max, Hkv, D], vc [S_max, Hkv, D], part [splits, n, H, D + 2] (written: D accumulator
// columns, then m (base-2 max logit) and l (Σ exp2(x − m)) of each (split, token, head)).
// Dispatch: (ceil(n·G / BR), Hkv, splits), workgroup WG. Logits: invocations stride over the BR·BC (row, key) pairs
// of a tile; row max and row sum: one invocation per row; accumulators: invocation lid owns the (row, vec4 column)
// pairs lid + k·WG, k < MAX_PAIRS, in registers.
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> kc: array<f32>;
@group(0) @binding(3) var<storage, read> vc: array<f32>;
@group(0) @binding(4) var<storage, read_write> part: array<f32>;

var<workgroup> q_s: array<vec4<f32>, BR * (((HEAD_DIM + 3u) / 4u) | 1u)>;
var<workgroup> k_s: array<vec4<f32>, BC * (((HEAD_DIM + 3u) / 4u) | 1u)>;
var<workgroup> v_s: array<vec4<f32>, BC * (((HEAD_DIM + 3u) / 4u) | 1u)>;
var<workgroup> s_s: array<f32, BR * BC>;
var<workgroup> m_s: array<f32, BR>;     // running max per row (base 2)
var<workgroup> a_s: array<f32, BR>;     // this step's rescale factor exp2(m_old − m_new)
var<workgroup> l_s: array<f32, BR>;     // running sum per row

fn q4(o: u32, d: u32) -> vec4<f32> {
  var x = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) { if (d + e < HEAD_DIM) { x[e] = q[o + d + e]; } }
  return x;
}

@compute @workgroup_size(WG)
fn attention_decode_forward_split(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let hk = wid.y;
  let split = wid.z;
  let f0 = wid.x * BR;
  let G = params.group;
  let rows = params.n * G;
  let f_last = min(f0 + BR, rows) - 1u;
  let pos_first = params.p0 + f0 / G;
  let pos_last = params.p0 + f_last / G;
  // Keys of this chunk that some row of the tile may see: [lo, hi).
  let s_begin = split * params.chunk;
  var lo = s_begin;
  if (params.window > 0u && pos_first + 1u > params.window) { lo = max(lo, pos_first + 1u - params.window); }
  let hi = min(min(s_begin + params.chunk, params.p0 + params.n), pos_last + 1u);

  for (var i = lid; i < BR * d4(); i += WG) {
    let r = i / d4();
    let j4 = i % d4();
    let f = f0 + r;
    var x = vec4<f32>(0.0);
    if (f < rows) { x = q4(((f / G) * params.H + hk * G + f % G) * HEAD_DIM, 4u * j4); }
    q_s[r * dp4() + j4] = x;
  }
  for (var r = lid; r < BR; r += WG) {
    m_s[r] = NEG;
    l_s[r] = 0.0;
  }
  var acc: array<vec4<f32>, MAX_PAIRS>;
  for (var s0 = lo; s0 < hi; s0 += BC) {
    workgroupBarrier(); // q_s, m_s, l_s initialized; the previous step is consumed
    for (var i = lid; i < BC * d4(); i += WG) {
      let c = i / d4();
      let j4 = i % d4();
      var kx = vec4<f32>(0.0);
      var vx = vec4<f32>(0.0);
      if (s0 + c < hi) {
        let o = ((s0 + c) * params.Hkv + hk) * HEAD_DIM + 4u * j4;
        for (var e = 0u; e < 4u; e++) {
          if (4u * j4 + e < HEAD_DIM) {
            kx[e] = kc[o + e];
            vx[e] = vc[o + e];
          }
        }
      }
      k_s[c * dp4() + j4] = kx;
      v_s[c * dp4() + j4] = vx;
    }
    workgroupBarrier();
    // Logits (base 2) of every (row, key) pair of the step; masked pairs get NEG.
    for (var e = lid; e < BR * BC; e += WG) {
      let r = e / BC;
      let c = e % BC;
      let f = f0 + r;
      let s = s0 + c;
      var x = NEG;
      if (f < rows && s < hi) {
        let pos = params.p0 + f / G;
        if (s <= pos && (params.window == 0u || pos - s < params.window)) {
          var qk = 0.0;
          for (var j4 = 0u; j4 < d4(); j4++) { qk += dot(q_s[r * dp4() + j4], k_s[c * dp4() + j4]); }
          x = cap(qk * params.scale) * LOG2E;
        }
      }
      s_s[e] = x;
    }
    workgroupBarrier();
    for (var r = lid; r < BR; r += WG) {
      var mx = m_s[r];
      for (var c = 0u; c < BC; c++) { mx = max(mx, s_s[r * BC + c]); }
      a_s[r] = exp2(m_s[r] - mx);
      m_s[r] = mx;
    }
    workgroupBarrier();
    for (var e = lid; e < BR * BC; e += WG) {
      let x = s_s[e];
      s_s[e] = select(0.0, exp2(x - m_s[e / BC]), x > LIVE);
    }
    workgroupBarrier();
    for (var r = lid; r < BR; r += WG) {
      var sum = 0.0;
      for (var c = 0u; c < BC; c++) { sum += s_s[r * BC + c]; }
      l_s[r] = l_s[r] * a_s[r] + sum;
    }
    for (var k = 0u; k < MAX_PAIRS; k++) {
      let e = lid + k * WG;
      if (e < BR * d4()) {
        let r = e / d4();
        let j4 = e % d4();
        var a = acc[k] * a_s[r];
        for (var c = 0u; c < BC; c++) { a = fma(vec4<f32>(s_s[r * BC + c]), v_s[c * dp4() + j4], a); }
        acc[k] = a;
      }
    }
  }
  workgroupBarrier(); // m_s, l_s final
  for (var k = 0u; k < MAX_PAIRS; k++) {
    let e = lid + k * WG;
    let r = e / d4();
    if (e < BR * d4() && f0 + r < rows) {
      let f = f0 + r;
      let o = ((split * params.n + f / G) * params.H + hk * G + f % G) * part_stride() + 4u * (e % d4());
      for (var c = 0u; c < 4u; c++) { if (4u * (e % d4()) + c < HEAD_DIM) { part[o + c] = acc[k][c]; } }
    }
  }
  for (var r = lid; r < BR; r += WG) {
    let f = f0 + r;
    if (f < rows) {
      let o = ((split * params.n + f / G) * params.H + hk * G + f % G) * part_stride() + HEAD_DIM;
      part[o] = m_s[r];
      part[o + 1u] = l_s[r];
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Step 2: out[i, h] = Σ_j 2^(m_j − M)·acc_j / Σ_j 2^(m_j − M)·l_j over the splits j, M = max_j m_j.
// Bindings: part_in [splits, n, H, D + 2] (from step 1), out [n, H, D] (written).
// Dispatch: n·H workgroups folded to 2-D (row = wid.x + wid.y·num_workgroups.x), workgroup WG_COMBINE; each
// invocation walks the splits' (m, l) for M and the denominator, then owns columns d ≡ lid (mod WG_COMBINE).
@group(0) @binding(1) var<storage, read> part_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG_COMBINE)
fn attention_decode_forward_combine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x; // token i·H + head h
  let NH = params.n * params.H;
  if (row >= NH) { return; }
  let stride = NH * part_stride();
  let base = row * part_stride();
  var M = NEG;
  for (var j = 0u; j < params.splits; j++) { M = max(M, part_in[j * stride + base + HEAD_DIM]); }
  var L = 0.0;
  for (var j = 0u; j < params.splits; j++) {
    let m = part_in[j * stride + base + HEAD_DIM];
    if (m > LIVE) { L += exp2(m - M) * part_in[j * stride + base + HEAD_DIM + 1u]; }
  }
  let inv = 1.0 / L;
  for (var d = lid; d < HEAD_DIM; d += WG_COMBINE) {
    var a = 0.0;
    for (var j = 0u; j < params.splits; j++) {
      let m = part_in[j * stride + base + HEAD_DIM];
      if (m > LIVE) { a = fma(exp2(m - M), part_in[j * stride + base + d], a); }
    }
    out[row * HEAD_DIM + d] = a * inv;
  }
}
