// Linear-layer matmuls with a dense base weight W [M, K] held as raw u32 words: f16 or bf16 packed two per u32
// (element 2i in the low 16 bits, 2i+1 in the high: the little-endian bytes of a safetensors F16 / BF16 tensor),
// or f32 (one per word; used for f32 weights too large for one binding, see src/kernels/linear.ts).
// Shapes: x [N, K], W [M, K] (nn.Linear layout: M outputs × K inputs), b [M], y [N, M]; dy [N, M], dx [N, K].
// N, K and M are free (an odd K puts a row boundary inside a word; element e of the chunk is half e % 2 of word e / 2).
//
// The register-tiled core of matmul.wgsl (shaders/common/tiled_matmul.wgsl: out[r, c] = Σ_p A(r, p)·B(p, c); each
// invocation a 4×4 block, workgroup tile (4·WG_Y) × (4·WG_X), TILE_K deep, staged in workgroup memory). B is W,
// decoded to f32 while it is staged: f16 with unpack2x16float, bf16 as bitcast<f32>(bits << 16). No shader-f16
// needed; no f32 copy of W exists.
//
// Params, the row chunks of a weight too large for one binding (a_offset / out_offset) and the forward / backward
// tile staging are shaders/common/weight_matmul.wgsl's; this file decodes W (stage_w).
// Dispatch: (ceil(cols / (4·WG_X)), ceil(rows / (4·WG_Y)), 1). Accumulation: f32 (fma).

override WG_X: u32 = 16;
override WG_Y: u32 = 16;
override TILE_K: u32 = 16;

const FMT_F32: u32 = 0u;
const FMT_F16: u32 = 1u;
const FMT_BF16: u32 = 2u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

#include "common/half.wgsl"
#include "common/tiled_matmul.wgsl"
#include "common/weight_matmul.wgsl"

// Element e (= m·K + k within the chunk) of W as f32.
fn weight(fmt: u32, e: u32) -> f32 {
  if (fmt == FMT_F32) { return bitcast<f32>(w[e]); }
  let word = w[e >> 1u];
  if (fmt == FMT_F16) { return unpack2x16float(word)[e & 1u]; }
  return bf16_bits_to_f32(half_of_word(word, e & 1u));
}

// Stages W[m0 .. m0+nm, k0 .. k0+nk) decoded into tile_b, walking k (contiguous in memory) fastest. Element (m, k)
// is B(p = k-k0, c = m-m0) when the reduction runs along k (forward), else B(p = m-m0, c = k-k0).
fn stage_w(fmt: u32, m0: u32, k0: u32, nm: u32, nk: u32, reduce_k: bool, lid: u32) {
  for (var idx = lid; idx < nm * nk; idx += WG_X * WG_Y) {
    let dm = idx / nk;
    let dk = idx % nk;
    let m = m0 + dm;
    let k = k0 + dk;
    var v = 0.0;
    if (m < params.m_count && k < params.k) { v = weight(fmt, m * params.k + k); }
    put_w(reduce_k, dm, dk, v);
  }
}

// Forward bias: binding 4, read only by the forward entry points.
@group(0) @binding(4) var<storage, read> bias: array<f32>;

// Forward, f16 weight: y[N, M] = x[N, K] · W[M, K]ᵀ + b[M].
// Bindings: a = x [N, K], w = W [M, K] f16 pairs (ceil(M·K/2) u32), out = y [N, M], bias [M] (any 4-byte buffer
// when has_bias = 0). Params: rows N, cols m_count, inner K, a_row K, a_offset 0, out_stride M, out_offset = first
// row of the chunk. Saves nothing (backward_input needs only W). f32 accumulation.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_f16_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  forward(FMT_F16, wid, lid);
}

// Input gradient, f16 weight: dx[N, K] (+)= dy[N, M] · W[M, K].
// Bindings: a = dy [N, M], w = W (as forward), out = dx [N, K]. Params: rows N, cols K, inner m_count, a_row M,
// a_offset = first row of the chunk, out_stride K, out_offset 0; accumulate adds into dx (the wrapper sets it for
// every chunk after the first). f32 accumulation.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_f16_backward_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  store_tile(wid, lid, tiled_product(FMT_F16, false, wid, lid));
}

// Forward, bf16 weight: y[N, M] = x[N, K] · W[M, K]ᵀ + b[M]. Bindings, Params, dispatch as matmul_f16_forward.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_bf16_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  forward(FMT_BF16, wid, lid);
}

// Input gradient, bf16 weight: dx[N, K] (+)= dy[N, M] · W[M, K]. As matmul_f16_backward_input.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_bf16_backward_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  store_tile(wid, lid, tiled_product(FMT_BF16, false, wid, lid));
}

// Forward, f32 weight in row chunks: y[N, M] = x[N, K] · W[M, K]ᵀ + b[M]; w = W [M, K] f32 bits.
// Bindings, Params, dispatch as matmul_f16_forward (the unsplit f32 case runs matmul.wgsl).
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_f32_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  forward(FMT_F32, wid, lid);
}

// Input gradient, f32 weight in row chunks: dx[N, K] (+)= dy[N, M] · W[M, K]. As matmul_f16_backward_input.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_f32_backward_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  store_tile(wid, lid, tiled_product(FMT_F32, false, wid, lid));
}
