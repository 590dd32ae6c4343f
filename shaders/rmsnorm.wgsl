// RMSNorm over rows: y = x · rsqrt(mean(x²) + eps) · g, with g = w (llama, qwen, mistral, phi3)
// or g = 1 + w (gemma, gemma2; the `gemma` Params flag), and its gradients.
// Shapes: x, y [N, C] (N rows of length C), w [C], rstd [N].
// Per-head norms (qwen3 q_norm / k_norm over q [T, H, D]) are the same kernels with N = T·H rows of
// length C = D: the weight [D] is shared by every head because it is indexed by the column only.
//
// Row kernels (forward, backward): one workgroup of WG invocations per row (WG a power of two), each
// invocation strides over the row's columns; the row sum is a tree reduction in workgroup memory.
// The row launch is folded into 2-D when N exceeds the per-dimension limit: row = wid.x + wid.y · num_workgroups.x.
// Accumulation: f32 throughout.

override WG: u32 = 256;       // row kernels: invocations per row (power of two)
override WG_X: u32 = 64;      // weight-gradient partial kernel: columns per workgroup
override WG_Y: u32 = 4;       // weight-gradient partial kernel: row lanes per workgroup (power of two)

struct Params {
  rows: u32,            // N
  cols: u32,            // C
  eps: f32,
  gemma: u32,           // 1: scale by (1 + w) instead of w
  accumulate: u32,      // backward: 1 adds into dx / dw (residual-stream gradient, gradient accumulation)
  rows_per_group: u32,  // weight-gradient partial kernel: rows summed by one workgroup
  groups: u32,          // weight-gradient: number of row groups (rows of the partial-sum scratch)
}

@group(0) @binding(0) var<uniform> params: Params;

#include "common/workgroup_sum.wgsl"

fn row_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}

fn gain(wc: f32) -> f32 {
  if (params.gemma == 1u) { return 1.0 + wc; }
  return wc;
}

// Forward: y[n, c] = x[n, c] · rstd[n] · g[c],  rstd[n] = rsqrt(Σ_c x[n, c]² / C + eps).
// Bindings: x [N, C] (read), w [C] (read), y [N, C] (write), rstd [N] (write).
// Saves rstd [N] for backward (backward also needs x and w).
// Dispatch: linearGrid(N) workgroups of WG. Sum of squares in f32.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> rstd_out: array<f32>;

@compute @workgroup_size(WG)
fn rmsnorm_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let row = row_index(wid, nwg);
  if (row >= params.rows) { return; }
  let base = row * params.cols;
  var ss = 0.0;
  for (var c = lid; c < params.cols; c += WG) {
    let v = x[base + c];
    ss = fma(v, v, ss);
  }
  let r = inverseSqrt(workgroup_sum(ss, lid) / f32(params.cols) + params.eps);
  for (var c = lid; c < params.cols; c += WG) {
    y[base + c] = x[base + c] * r * gain(w[c]);
  }
  if (lid == 0u) { rstd_out[row] = r; }
}

// Input gradient: dx[n, c] (+)= rstd·g[c]·dy[n, c] − x[n, c]·rstd³·(Σ_j dy[n, j]·g[j]·x[n, j]) / C.
// Bindings: x [N, C] (read), w [C] (read), rstd [N] (read, from forward), dy [N, C] (read), dx [N, C] (write,
// or add with accumulate = 1: the norm's input is the residual stream, whose gradient collects several terms).
// Dispatch: linearGrid(N) workgroups of WG. Row dot product in f32.
@group(0) @binding(3) var<storage, read> rstd_in: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn rmsnorm_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let row = row_index(wid, nwg);
  if (row >= params.rows) { return; }
  let base = row * params.cols;
  var dot = 0.0;
  for (var c = lid; c < params.cols; c += WG) {
    dot = fma(dy[base + c] * gain(w[c]), x[base + c], dot);
  }
  let r = rstd_in[row];
  let coef = workgroup_sum(dot, lid) * r * r * r / f32(params.cols);
  for (var c = lid; c < params.cols; c += WG) {
    var v = r * gain(w[c]) * dy[base + c] - x[base + c] * coef;
    if (params.accumulate == 1u) { v += dx[base + c]; }
    dx[base + c] = v;
  }
}

// Weight gradient, pass 1 of 2 (only when the norm weight is trained; LoRA freezes it):
//   partial[g, c] = Σ_{n in rows of group g} dy[n, c] · x[n, c] · rstd[n]   (the same for g = w and g = 1 + w).
// Bindings: x [N, C] (read), rstd [N] (read), dy [N, C] (read), partial [groups, C] (write; scratch).
// Dispatch: (ceil(C / WG_X), groups). A WG_X × WG_Y workgroup owns WG_X adjacent columns (coalesced loads) of
// `rows_per_group` rows; row lane ly sums rows ly, ly + WG_Y, …; the lanes are combined in workgroup memory.
// No atomics: every partial is written by exactly one invocation. f32 accumulation.
@group(0) @binding(2) var<storage, read> rstd_w: array<f32>;
@group(0) @binding(3) var<storage, read> dy_w: array<f32>;
@group(0) @binding(4) var<storage, read_write> partial_out: array<f32>;

var<workgroup> red_cols: array<f32, WG_X * WG_Y>;

@compute @workgroup_size(WG_X, WG_Y, 1)
fn rmsnorm_backward_weight_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = wid.x * WG_X + lid.x;
  let row0 = wid.y * params.rows_per_group;
  let row1 = min(row0 + params.rows_per_group, params.rows);
  var acc = 0.0;
  if (c < params.cols) {
    for (var n = row0 + lid.y; n < row1; n += WG_Y) {
      let i = n * params.cols + c;
      acc = fma(dy_w[i] * x[i], rstd_w[n], acc);
    }
  }
  red_cols[lid.y * WG_X + lid.x] = acc;
  workgroupBarrier();
  for (var s = WG_Y / 2u; s > 0u; s >>= 1u) {
    if (lid.y < s) { red_cols[lid.y * WG_X + lid.x] += red_cols[(lid.y + s) * WG_X + lid.x]; }
    workgroupBarrier();
  }
  if (lid.y == 0u && c < params.cols) { partial_out[wid.y * params.cols + c] = red_cols[lid.x]; }
}

// Weight gradient, pass 2 of 2: dw[c] (+)= Σ_g partial[g, c].
// Bindings: partial [groups, C] (read), dw [C] (write, or add with accumulate = 1 for gradient accumulation).
// Dispatch: linearGrid(ceil(C / WG)) workgroups of WG, one invocation per column. f32 accumulation.
@group(0) @binding(1) var<storage, read> partial_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;

@compute @workgroup_size(WG)
fn rmsnorm_backward_weight_reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                                  @builtin(local_invocation_index) lid: u32) {
  let c = row_index(wid, nwg) * WG + lid;
  if (c >= params.cols) { return; }
  var s = 0.0;
  for (var g = 0u; g < params.groups; g++) { s += partial_in[g * params.cols + c]; }
  if (params.accumulate == 1u) { s += dw[c]; }
  dw[c] = s;
}
