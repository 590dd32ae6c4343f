// Linear-layer matmuls with a GGUF K-quant base weight W [M, K] read as stored: Q2_K, Q3_K, Q4_K, Q5_K, Q6_K.
// Shapes: x [N, K], W [M, K] (nn.Linear layout: M outputs × K inputs), b [M], y [N, M]; dy [N, M], dx [N, K].
// Rows of W hold whole 256-value super-blocks: K % 256 == 0; N and M are free.
//
// GPU layout of W (src/formats/quant-blocks.ts splits it from the GGUF bytes, no value changes; decoding is
// shaders/common/kquant.wgsl's): `scales` = each super-block's f16 d (and dmin), `quants` = the rest of each block
// in file order, row-major [M, K/256] blocks in both.
//
// The register-tiled core of matmul.wgsl (shaders/common/tiled_matmul.wgsl: out[r, c] = Σ_p A(r, p)·B(p, c); each
// invocation a 4×4 block, workgroup tile (4·WG_Y) × (4·WG_X), TILE_K deep, staged in workgroup memory). B is W:
// while a W tile is staged, each invocation decodes 4 consecutive values of a row (one u32 of quants, their
// sub-block scale and the block's f16 scales) into workgroup memory, so W is never dequantized anywhere else.
//
// Params, the row chunks of a weight too large for one binding (a_offset / out_offset) and the forward / backward
// tile staging are shaders/common/weight_matmul.wgsl's; this file decodes W (stage_w).
// Dispatch: (ceil(cols / (4·WG_X)), ceil(rows / (4·WG_Y)), 1). Accumulation: f32 (fma).

override WG_X: u32 = 16;
override WG_Y: u32 = 16;
override TILE_K: u32 = 16; // a multiple of 4 (the wrapper checks): W is staged in groups of 4 values along K

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> scales: array<u32>;
@group(0) @binding(3) var<storage, read> quants: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

fn kq_word(i: u32) -> u32 { return quants[i]; }
fn kq_half(h: u32) -> u32 { return half_of_word(scales[h >> 1u], h & 1u); }

#include "common/half.wgsl"
#include "common/kquant.wgsl"
#include "common/tiled_matmul.wgsl"
#include "common/weight_matmul.wgsl"

// Stages W[m0 .. m0+nm, k0 .. k0+nk) dequantized into tile_b, in groups of 4 consecutive values along k (k0 and nk
// are multiples of 4); `fmt` is the kind of common/kquant.wgsl (2..6 = Q2_K..Q6_K). Element (m, k) is
// B(p = k-k0, c = m-m0) when the reduction runs along k (forward), else B(p = m-m0, c = k-k0) (backward_input).
// Consecutive invocations take consecutive groups of a row (coalesced loads); outside W the values are 0.
fn stage_w(fmt: u32, m0: u32, k0: u32, nm: u32, nk: u32, reduce_k: bool, lid: u32) {
  let groups_per_patch_row = nk / 4u;
  let groups_per_row = params.k / 4u;
  for (var idx = lid; idx < nm * groups_per_patch_row; idx += WG_X * WG_Y) {
    let dm = idx / groups_per_patch_row;
    let g = idx % groups_per_patch_row;
    let m = m0 + dm;
    let kg = k0 / 4u + g; // group within the row of W: values 4·kg .. 4·kg + 3
    var v = vec4<f32>(0.0);
    if (m < params.m_count && kg < groups_per_row) {
      v = kq_group(fmt, m * (params.k / 256u) + kg / 64u, (kg % 64u) * 4u);
    }
    for (var i = 0u; i < 4u; i++) {
      put_w(reduce_k, dm, 4u * g + i, v[i]);
    }
  }
}

// Forward bias: binding 5, read only by the forward entry points.
@group(0) @binding(5) var<storage, read> bias: array<f32>;

// Forward, Q2_K weight: y[N, M] = x[N, K] · dequant(W)[M, K]ᵀ + b[M].
// Bindings: a = x [N, K], scales [M, K/256] × (d, dmin) f16, quants [M, K/256] × 20 u32, out = y [N, M], bias [M]
// (any 4-byte buffer when has_bias = 0). Params: rows N, cols m_count, inner K, a_row K, a_offset 0,
// out_stride M, out_offset = first row of the chunk. Saves nothing (backward_input needs only W). f32 accumulation.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_q2_k_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  forward(2u, wid, lid);
}

// Input gradient, Q2_K weight: dx[N, K] (+)= dy[N, M] · dequant(W)[M, K].
// Bindings: a = dy [N, M], scales, quants (as forward), out = dx [N, K]. Params: rows N, cols K, inner m_count,
// a_row M, a_offset = first row of the chunk, out_stride K, out_offset 0; accumulate adds into dx (the wrapper
// sets it for every chunk after the first). f32 accumulation.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_q2_k_backward_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  store_tile(wid, lid, tiled_product(2u, false, wid, lid));
}

// Forward, Q3_K weight: y[N, M] = x[N, K] · dequant(W)[M, K]ᵀ + b[M].
// Bindings: a = x [N, K], scales [M, K/256] × d f16 (two blocks per u32), quants [M, K/256] × 27 u32, out = y,
// bias [M]. Params, dispatch and precision as matmul_q2_k_forward.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_q3_k_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  forward(3u, wid, lid);
}

// Input gradient, Q3_K weight: dx[N, K] (+)= dy[N, M] · dequant(W)[M, K].
// Bindings: a = dy [N, M], scales, quants (as forward), out = dx [N, K]. Params as matmul_q2_k_backward_input.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_q3_k_backward_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  store_tile(wid, lid, tiled_product(3u, false, wid, lid));
}

// Forward, Q4_K weight: y[N, M] = x[N, K] · dequant(W)[M, K]ᵀ + b[M].
// Bindings: a = x [N, K], scales [M, K/256] × (d, dmin) f16, quants [M, K/256] × 35 u32, out = y [N, M], bias [M].
// Params, dispatch and precision as matmul_q2_k_forward.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_q4_k_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  forward(4u, wid, lid);
}

// Input gradient, Q4_K weight: dx[N, K] (+)= dy[N, M] · dequant(W)[M, K].
// Bindings: a = dy [N, M], scales, quants (as forward), out = dx [N, K]. Params as matmul_q2_k_backward_input.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_q4_k_backward_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  store_tile(wid, lid, tiled_product(4u, false, wid, lid));
}

// Forward, Q5_K weight: y[N, M] = x[N, K] · dequant(W)[M, K]ᵀ + b[M].
// Bindings: a = x [N, K], scales [M, K/256] × (d, dmin) f16, quants [M, K/256] × 43 u32, out = y [N, M], bias [M].
// Params, dispatch and precision as matmul_q2_k_forward.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_q5_k_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  forward(5u, wid, lid);
}

// Input gradient, Q5_K weight: dx[N, K] (+)= dy[N, M] · dequant(W)[M, K].
// Bindings: a = dy [N, M], scales, quants (as forward), out = dx [N, K]. Params as matmul_q2_k_backward_input.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_q5_k_backward_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  store_tile(wid, lid, tiled_product(5u, false, wid, lid));
}

// Forward, Q6_K weight: y[N, M] = x[N, K] · dequant(W)[M, K]ᵀ + b[M].
// Bindings: a = x [N, K], scales [M, K/256] × d f16 (two blocks per u32), quants [M, K/256] × 52 u32, out = y,
// bias [M]. Params, dispatch and precision as matmul_q2_k_forward.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_q6_k_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  forward(6u, wid, lid);
}

// Input gradient, Q6_K weight: dx[N, K] (+)= dy[N, M] · dequant(W)[M, K].
// Bindings: a = dy [N, M], scales, quants (as forward), out = dx [N, K]. Params as matmul_q2_k_backward_input.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_q6_k_backward_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  store_tile(wid, lid, tiled_product(6u, false, wid, lid));
}
