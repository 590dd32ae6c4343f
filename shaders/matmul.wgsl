// Dense f32 matmuls of a linear layer: y = x·Wᵀ (+ b), and its gradients.
// Shapes: x [N, K] (N rows, K input features), W [M, K] (nn.Linear layout: M outputs × K inputs), b [M], y [N, M].
//
// All three entry points share the register-tiled core (shaders/common/tiled_matmul.wgsl) over a generic product
//   out[r, c] (+)= Σ_p A(r, p) · B(p, c),   A(r, p) = a[r·a_row + p·a_inner],   B(p, c) = b[p·b_inner + c·b_col]
// whose strides (in Params) select the layout. Each workgroup computes a TILE_R × TILE_C block of `out`
// (TILE_R = 4·WG_Y, TILE_C = 4·WG_X); each invocation a 4×4 sub-block held in registers. Tiles of A and B,
// TILE_K deep, are staged in workgroup memory with loads that run along whichever axis is contiguous.
// Dispatch: (ceil(cols / TILE_C), ceil(rows / TILE_R), 1). Accumulation: f32.

override WG_X: u32 = 16;
override WG_Y: u32 = 16;
override TILE_K: u32 = 16;
// Which axis of A / B is contiguous in memory; fixed per entry point by the wrapper so tile loads coalesce.
override A_INNER_CONTIGUOUS: bool = true;
override B_INNER_CONTIGUOUS: bool = true;

struct Params {
  rows: u32,     // output rows
  cols: u32,     // output columns
  inner: u32,    // length of the reduction
  a_row: u32,    // stride of A between output rows
  a_inner: u32,  // stride of A along the reduction
  b_inner: u32,  // stride of B along the reduction
  b_col: u32,    // stride of B between output columns
  accumulate: u32, // 1: out += result (gradient accumulation), 0: out = result
  has_bias: u32,   // forward only: 1 adds bias[c]
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

#include "common/tiled_matmul.wgsl"

fn out_index(r: u32, c: u32) -> u32 { return r * params.cols + c; }
fn bias_index(c: u32) -> u32 { return c; }

// A tile: TILE_R rows × TILE_K reduction steps, B tile: TILE_K × TILE_C, each walking its contiguous axis fastest
// (A_INNER_CONTIGUOUS, B_INNER_CONTIGUOUS). fmt and forward are unused: the strides in Params select the layout.
fn stage_tiles(fmt: u32, forward: bool, row0: u32, col0: u32, p0: u32, lid: u32) {
  let threads = WG_X * WG_Y;
  let tile_r = WG_Y * 4u;
  let tile_c = WG_X * 4u;
  for (var idx = lid; idx < tile_r * TILE_K; idx += threads) {
    var r: u32; var p: u32;
    if (A_INNER_CONTIGUOUS) { r = idx / TILE_K; p = idx % TILE_K; } else { p = idx / tile_r; r = idx % tile_r; }
    let gr = row0 + r; let gp = p0 + p;
    var v = 0.0;
    if (gr < params.rows && gp < params.inner) { v = a[gr * params.a_row + gp * params.a_inner]; }
    set_a(p, r, v);
  }
  for (var idx = lid; idx < tile_c * TILE_K; idx += threads) {
    var c: u32; var p: u32;
    if (B_INNER_CONTIGUOUS) { c = idx / TILE_K; p = idx % TILE_K; } else { p = idx / tile_c; c = idx % tile_c; }
    let gc = col0 + c; let gp = p0 + p;
    var v = 0.0;
    if (gc < params.cols && gp < params.inner) { v = b[gp * params.b_inner + gc * params.b_col]; }
    set_b(p, c, v);
  }
}

// Forward: y[N, M] = x[N, K] · W[M, K]ᵀ + b[M].
// Bindings: a = x [N, K], b = W [M, K], out = y [N, M], bias = b [M] (has_bias 0: any 4-byte buffer).
// Params: rows N, cols M, inner K, a_row K, a_inner 1, b_inner 1, b_col K. Saves nothing (backward needs x).
@group(0) @binding(4) var<storage, read> bias: array<f32>;

@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  store_tile(wid, lid, add_bias(tiled_product(0u, true, wid, lid), wid, lid));
}

// Input gradient: dx[N, K] = dy[N, M] · W[M, K].
// Bindings: a = dy [N, M], b = W [M, K], out = dx [N, K].
// Params: rows N, cols K, inner M, a_row M, a_inner 1, b_inner K, b_col 1; accumulate adds into dx (residual paths).
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_backward_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  store_tile(wid, lid, tiled_product(0u, false, wid, lid));
}

// Weight gradient: dW[M, K] (+)= dy[N, M]ᵀ · x[N, K].
// Bindings: a = dy [N, M], b = x [N, K], out = dW [M, K].
// Params: rows M, cols K, inner N, a_row 1, a_inner M, b_inner K, b_col 1; accumulate for gradient accumulation.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_backward_weight(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  store_tile(wid, lid, tiled_product(0u, false, wid, lid));
}
