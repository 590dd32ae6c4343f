// LoRA adapter on a linear layer: y += s · (dropout(x) · Aᵀ) · Bᵀ, and its gradients.
// Shapes: x [N, K], A [R, K], B [M, R], y [N, M], u = dropout(x)·Aᵀ [N, R] (saved for backward), dy [N, M],
// dA [R, K], dB [M, R], du [N, R], dx [N, K]. R (rank, 4–64) is small.
//
// Dropout: xd[n, k] = x[n, k] · keep(n, k) / (1 − p), with keep(n, k) from a counter-based hash, so forward and
// backward regenerate the same mask without storing it:
//   h = pcg4d(k, n, module_id, seed).x,   keep iff h ≥ threshold,   threshold = round(p · 2³²)
// pcg4d (Jarzynski & Olano, "Hash Functions for GPU Rendering", JCGT 2020): one LCG step per lane, then two rounds
// of cross-lane multiply-adds around a xorshift, so every output bit depends on all four inputs. The keep rate is
// 1 − threshold / 2³² = 1 − p (to 2⁻³²). The caller gives every (layer, module) its own module_id and every
// optimizer step / micro-batch its own seed. dropout = 0 (p = 0) skips the hash entirely.
//
// Two kernels serve the six products:
// * skinny: out[rows, R] = Σ_p A(row, p) · B(p, c) with a long reduction (K, N or M) and R columns:
//   u = xd·Aᵀ, dB = s·dyᵀ·u, du = s·dy·B, dA = duᵀ·xd. A workgroup owns BN = 4·SK_WG_R rows × BR = 4·SK_WG_C
//   columns (BR ≥ R, so the big operand is read once) and one split of the reduction (split-K: dispatch z), staging
//   SK_TILE_K-deep tiles in workgroup memory; each invocation keeps a 4×4 block (rows ly + i·SK_WG_R, columns
//   lx + j·SK_WG_C) in registers. With several splits, partial sums go to a scratch [splits, rows·R] that
//   lora_reduce_splits sums, scales and (optionally) accumulates into the output.
// * rank update: out[N, cols] (+)= Σ_{p<R} A(row, p) · B(p, c) with the short reduction over R: y += s·u·Bᵀ and
//   dx += keep ∘ (du·A) / (1 − p). A 4·RU_WG_Y × 4·RU_WG_X output tile per workgroup, RU_TILE_K-deep tiles of R.
// Accumulation: f32 (fma), no atomics: every output (or partial) element is written by one invocation.

override SK_WG_C: u32 = 4;     // skinny: invocations along R (4 columns each)
override SK_WG_R: u32 = 16;    // skinny: invocations along rows (4 rows each)
override SK_TILE_K: u32 = 16;  // skinny: reduction depth of a workgroup-memory tile
override RU_WG_X: u32 = 16;    // rank update: invocations along output columns
override RU_WG_Y: u32 = 16;    // rank update: invocations along output rows
override RU_TILE_K: u32 = 16;  // rank update: depth of an R tile
override WG: u32 = 256;        // lora_reduce_splits: invocations per workgroup

const MICRO: u32 = 4u;

struct Params {
  n: u32,
  k: u32,
  m: u32,
  r: u32,
  split_len: u32,    // skinny: reduction elements per split (a multiple of SK_TILE_K)
  split_out: u32,    // skinny: 1 writes raw partial sums to dst[split · rows·R + out index]; 0 writes the output
  scale: f32,        // output factor (s, or 1)
  accumulate: u32,   // 1: dst += result instead of dst = result
  dropout: u32,      // 1: apply the dropout mask to x (0: p = 0, no hashing)
  seed: u32,
  module_id: u32,
  threshold: u32,    // keep iff hash ≥ threshold
  keep_scale: f32,   // 1 / (1 − p)
  count: u32,        // lora_reduce_splits: output elements (rows · R)
  splits: u32,       // lora_reduce_splits: number of splits
}

@group(0) @binding(0) var<uniform> params: Params;

// Every product entry point binds (lhs, rhs, dst) at 1, 2, 3; what they hold is listed per entry point.
@group(0) @binding(1) var<storage, read> lhs: array<f32>;
@group(0) @binding(2) var<storage, read> rhs: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

// ---- dropout mask -------------------------------------------------------------------------------------------

fn pcg4d(a: vec4<u32>) -> vec4<u32> {
  var v = a * 1664525u + 1013904223u;
  v.x += v.y * v.w;
  v.y += v.z * v.x;
  v.z += v.x * v.y;
  v.w += v.y * v.z;
  v ^= v >> vec4<u32>(16u);
  v.x += v.y * v.w;
  v.y += v.z * v.x;
  v.z += v.x * v.y;
  v.w += v.y * v.z;
  return v;
}

// Multiplier of x[n, k]: keep_scale if kept, 0 if dropped; 1 without dropout.
fn keep(n: u32, k: u32) -> f32 {
  if (params.dropout == 0u) { return 1.0; }
  let h = pcg4d(vec4<u32>(k, n, params.module_id, params.seed)).x;
  return select(0.0, params.keep_scale, h >= params.threshold);
}

// ---- skinny kernel -----------------------------------------------------------------------------------------

const MODE_DOWN: u32 = 0u;  // u  = xd · Aᵀ     rows N, reduction K
const MODE_DB: u32 = 1u;    // dB = s·dyᵀ · u   rows M, reduction N
const MODE_DU: u32 = 2u;    // du = s·dy · B    rows N, reduction M
const MODE_DA: u32 = 3u;    // dA = duᵀ · xd    rows K (stored transposed: dA[c, row]), reduction N

var<workgroup> sk_a: array<f32, SK_TILE_K * SK_WG_R * MICRO>;  // [SK_TILE_K][BN]
var<workgroup> sk_b: array<f32, SK_TILE_K * SK_WG_C * MICRO>;  // [SK_TILE_K][BR]

fn sk_rows(mode: u32) -> u32 {
  switch mode {
    case MODE_DB: { return params.m; }
    case MODE_DA: { return params.k; }
    default: { return params.n; }
  }
}

fn sk_inner(mode: u32) -> u32 {
  switch mode {
    case MODE_DOWN: { return params.k; }
    case MODE_DU: { return params.m; }
    default: { return params.n; }
  }
}

fn sk_load_a(mode: u32, row: u32, p: u32) -> f32 {
  switch mode {
    case MODE_DOWN: { return lhs[row * params.k + p] * keep(row, p); }  // x[row, p]
    case MODE_DB: { return lhs[p * params.m + row]; }                   // dy[p, row]
    case MODE_DU: { return lhs[row * params.m + p]; }                   // dy[row, p]
    default: { return lhs[p * params.k + row] * keep(p, row); }         // x[p, row]
  }
}

fn sk_load_b(mode: u32, p: u32, c: u32) -> f32 {
  if (mode == MODE_DOWN) { return rhs[c * params.k + p]; }  // A[c, p]
  return rhs[p * params.r + c];                             // u, B or du [·, R]
}

fn sk_out_index(mode: u32, row: u32, c: u32) -> u32 {
  if (mode == MODE_DA) { return c * params.k + row; }
  return row * params.r + c;
}

fn skinny(mode: u32, wid: vec3<u32>, lid: vec3<u32>) {
  let rows = sk_rows(mode);
  let cols = params.r;
  let bn = SK_WG_R * MICRO;
  let br = SK_WG_C * MICRO;
  let row0 = wid.y * bn;
  let col0 = wid.x * br;
  let p_begin = wid.z * params.split_len;
  let p_end = min(sk_inner(mode), p_begin + params.split_len);
  let threads = SK_WG_C * SK_WG_R;
  let flat = lid.y * SK_WG_C + lid.x;
  // The big operand runs along p in memory for u and du, along rows for dB and dA: walk that axis fastest.
  let a_along_p = mode == MODE_DOWN || mode == MODE_DU;
  let b_along_p = mode == MODE_DOWN;

  var acc: array<array<f32, 4>, 4>;
  var ar: array<f32, 4>;
  var bc: array<f32, 4>;
  for (var p0 = p_begin; p0 < p_end; p0 += SK_TILE_K) {
    for (var idx = flat; idx < bn * SK_TILE_K; idx += threads) {
      var r: u32;
      var p: u32;
      if (a_along_p) { r = idx / SK_TILE_K; p = idx % SK_TILE_K; } else { p = idx / bn; r = idx % bn; }
      let gr = row0 + r;
      let gp = p0 + p;
      var v = 0.0;
      if (gr < rows && gp < p_end) { v = sk_load_a(mode, gr, gp); }
      sk_a[p * bn + r] = v;
    }
    for (var idx = flat; idx < br * SK_TILE_K; idx += threads) {
      var c: u32;
      var p: u32;
      if (b_along_p) { c = idx / SK_TILE_K; p = idx % SK_TILE_K; } else { p = idx / br; c = idx % br; }
      let gc = col0 + c;
      let gp = p0 + p;
      var v = 0.0;
      if (gc < cols && gp < p_end) { v = sk_load_b(mode, gp, gc); }
      sk_b[p * br + c] = v;
    }
    workgroupBarrier();
    for (var p = 0u; p < SK_TILE_K; p++) {
      for (var i = 0u; i < MICRO; i++) { ar[i] = sk_a[p * bn + lid.y + i * SK_WG_R]; }
      for (var j = 0u; j < MICRO; j++) { bc[j] = sk_b[p * br + lid.x + j * SK_WG_C]; }
      for (var i = 0u; i < MICRO; i++) {
        for (var j = 0u; j < MICRO; j++) { acc[i][j] = fma(ar[i], bc[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < MICRO; i++) {
    let row = row0 + lid.y + i * SK_WG_R;
    if (row >= rows) { continue; }
    for (var j = 0u; j < MICRO; j++) {
      let c = col0 + lid.x + j * SK_WG_C;
      if (c >= cols) { continue; }
      let o = sk_out_index(mode, row, c);
      if (params.split_out == 1u) {
        dst[wid.z * rows * cols + o] = acc[i][j];
      } else {
        var v = acc[i][j] * params.scale;
        if (params.accumulate == 1u) { v += dst[o]; }
        dst[o] = v;
      }
    }
  }
}

// Forward, down projection: u[N, R] = xd[N, K] · A[R, K]ᵀ (xd = dropout(x)).
// Bindings: lhs = x [N, K], rhs = A [R, K], dst = u [N, R] (saved for backward), or the split scratch.
// Dispatch: (ceil(R / BR), ceil(N / BN), splits). f32 accumulation.
@compute @workgroup_size(SK_WG_C, SK_WG_R, 1)
fn lora_forward_down(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  skinny(MODE_DOWN, wid, lid);
}

// Backward, B gradient: dB[M, R] (+)= s · dy[N, M]ᵀ · u[N, R].
// Bindings: lhs = dy [N, M], rhs = u [N, R], dst = dB [M, R] (accumulate for gradient accumulation) or the split scratch.
// Dispatch: (ceil(R / BR), ceil(M / BN), splits). f32 accumulation.
@compute @workgroup_size(SK_WG_C, SK_WG_R, 1)
fn lora_backward_db(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  skinny(MODE_DB, wid, lid);
}

// Backward, gradient of u: du[N, R] = s · dy[N, M] · B[M, R].
// Bindings: lhs = dy [N, M], rhs = B [M, R], dst = du [N, R] or the split scratch.
// Dispatch: (ceil(R / BR), ceil(N / BN), splits). f32 accumulation.
@compute @workgroup_size(SK_WG_C, SK_WG_R, 1)
fn lora_backward_du(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  skinny(MODE_DU, wid, lid);
}

// Backward, A gradient: dA[R, K] (+)= du[N, R]ᵀ · xd[N, K] (the same dropout mask as the forward).
// Bindings: lhs = x [N, K], rhs = du [N, R], dst = dA [R, K] (accumulate for gradient accumulation) or the split scratch.
// Dispatch: (ceil(R / BR), ceil(K / BN), splits); rows of the kernel are the K columns of dA. f32 accumulation.
@compute @workgroup_size(SK_WG_C, SK_WG_R, 1)
fn lora_backward_da(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  skinny(MODE_DA, wid, lid);
}

// ---- split-K reduction ---------------------------------------------------------------------------------------

// Sum of the split partials: out[e] (+)= scale · Σ_z partial[z · count + e] (e already in the output's layout).
// Bindings: partial [splits, count] (read), out [count] (read_write).
// Dispatch: linearGrid(ceil(count / WG)), linear workgroup id = wid.x + wid.y · num_workgroups.x. f32 accumulation.
@group(0) @binding(2) var<storage, read_write> reduce_out: array<f32>;

@compute @workgroup_size(WG)
fn lora_reduce_splits(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32) {
  let e = (wid.x + wid.y * nwg.x) * WG + lid;
  if (e >= params.count) { return; }
  var s = 0.0;
  for (var z = 0u; z < params.splits; z++) { s += lhs[z * params.count + e]; }
  s *= params.scale;
  if (params.accumulate == 1u) { s += reduce_out[e]; }
  reduce_out[e] = s;
}

// ---- rank-update kernel ------------------------------------------------------------------------------------

const MODE_UP: u32 = 0u;  // y  += s · u · Bᵀ                   cols M
const MODE_DX: u32 = 1u;  // dx += keep ∘ (du · A) / (1 − p)    cols K

var<workgroup> ru_a: array<f32, RU_TILE_K * RU_WG_Y * MICRO>;  // [RU_TILE_K][BM]
var<workgroup> ru_b: array<f32, RU_TILE_K * RU_WG_X * MICRO>;  // [RU_TILE_K][BC]

fn rank_update(mode: u32, wid: vec3<u32>, lid: vec3<u32>) {
  let rows = params.n;
  let cols = select(params.k, params.m, mode == MODE_UP);
  let bm = RU_WG_Y * MICRO;
  let bcols = RU_WG_X * MICRO;
  let row0 = wid.y * bm;
  let col0 = wid.x * bcols;
  let threads = RU_WG_X * RU_WG_Y;
  let flat = lid.y * RU_WG_X + lid.x;

  var acc: array<array<f32, 4>, 4>;
  var ar: array<f32, 4>;
  var bc: array<f32, 4>;
  for (var p0 = 0u; p0 < params.r; p0 += RU_TILE_K) {
    // lhs = u or du [N, R]: contiguous along R.
    for (var idx = flat; idx < bm * RU_TILE_K; idx += threads) {
      let r = idx / RU_TILE_K;
      let p = idx % RU_TILE_K;
      let gr = row0 + r;
      let gp = p0 + p;
      var v = 0.0;
      if (gr < rows && gp < params.r) { v = lhs[gr * params.r + gp]; }
      ru_a[p * bm + r] = v;
    }
    // rhs = B [M, R] (contiguous along R) or A [R, K] (contiguous along K).
    for (var idx = flat; idx < bcols * RU_TILE_K; idx += threads) {
      var c: u32;
      var p: u32;
      if (mode == MODE_UP) { c = idx / RU_TILE_K; p = idx % RU_TILE_K; } else { p = idx / bcols; c = idx % bcols; }
      let gc = col0 + c;
      let gp = p0 + p;
      var v = 0.0;
      if (gc < cols && gp < params.r) {
        if (mode == MODE_UP) { v = rhs[gc * params.r + gp]; } else { v = rhs[gp * params.k + gc]; }
      }
      ru_b[p * bcols + c] = v;
    }
    workgroupBarrier();
    for (var p = 0u; p < RU_TILE_K; p++) {
      for (var i = 0u; i < MICRO; i++) { ar[i] = ru_a[p * bm + lid.y + i * RU_WG_Y]; }
      for (var j = 0u; j < MICRO; j++) { bc[j] = ru_b[p * bcols + lid.x + j * RU_WG_X]; }
      for (var i = 0u; i < MICRO; i++) {
        for (var j = 0u; j < MICRO; j++) { acc[i][j] = fma(ar[i], bc[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < MICRO; i++) {
    let row = row0 + lid.y + i * RU_WG_Y;
    if (row >= rows) { continue; }
    for (var j = 0u; j < MICRO; j++) {
      let c = col0 + lid.x + j * RU_WG_X;
      if (c >= cols) { continue; }
      let o = row * cols + c;
      var v = acc[i][j] * params.scale;
      if (mode == MODE_DX) { v *= keep(row, c); }
      if (params.accumulate == 1u) { v += dst[o]; }
      dst[o] = v;
    }
  }
}

// Forward, up projection added to the base output: y[N, M] += s · u[N, R] · B[M, R]ᵀ (accumulate = 1; the base
// matmul wrote y first) or y = s · u · Bᵀ (accumulate = 0).
// Bindings: lhs = u [N, R], rhs = B [M, R], dst = y [N, M]. Saves nothing more (u was saved by lora_forward_down).
// Dispatch: (ceil(M / (4·RU_WG_X)), ceil(N / (4·RU_WG_Y)), 1). f32 accumulation.
@compute @workgroup_size(RU_WG_X, RU_WG_Y, 1)
fn lora_forward_up(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  rank_update(MODE_UP, wid, lid);
}

// Backward, input gradient added to the base layer's: dx[N, K] (+)= keep(n, k)/(1 − p) · (du[N, R] · A[R, K]) (scale = 1).
// Bindings: lhs = du [N, R], rhs = A [R, K], dst = dx [N, K] (the base layer's input gradient, added to).
// Dispatch: (ceil(K / (4·RU_WG_X)), ceil(N / (4·RU_WG_Y)), 1). f32 accumulation.
@compute @workgroup_size(RU_WG_X, RU_WG_Y, 1)
fn lora_backward_dx(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  rank_update(MODE_DX, wid, lid);
}
