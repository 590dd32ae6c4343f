// Linear-layer matmuls with a block-quantized base weight W [M, K]: GGUF Q8_0, GGUF Q4_0 and bitsandbytes NF4.
// Shapes: x [N, K], W [M, K] (nn.Linear layout: M outputs × K inputs), b [M], y [N, M]; dy [N, M], dx [N, K].
// Rows of W hold whole blocks: K % 32 == 0 (Q8_0, Q4_0), K % 64 == 0 (NF4); N and M are free.
//
// GPU layout of W (src/kernels/weights.ts; src/formats/quant-blocks.ts builds it from raw GGUF bytes): GGUF's and
// bitsandbytes' own bytes with the scales moved to an array of their own, so every u32 of quants is aligned.
//   scales  Q8_0, Q4_0: f16 d per 32-block, row-major [M, K/32], two per u32 (even block in the low half).
//           NF4:        f32 absmax per 64-block, row-major [M, K/64].
//   quants  Q8_0: 32 int8 per block, element j in byte j                                    -> value q·d
//           Q4_0: 16 bytes per block, byte j = element j (low nibble) | element j+16 (high)  -> value (q - 8)·d
//           NF4:  32 bytes per block, byte j = element 2j (HIGH nibble) | element 2j+1 (low) -> value NF4[q]·absmax
//
// The register-tiled core of matmul.wgsl (shaders/common/tiled_matmul.wgsl: out[r, c] = Σ_p A(r, p)·B(p, c); each
// invocation a 4×4 block, workgroup tile (4·WG_Y) × (4·WG_X), TILE_K deep, staged in workgroup memory). B is W:
// while a W tile is staged, each invocation loads one u32 of quants holding 4 consecutive values of a row, and
// their block scale, and writes the dequantized values to workgroup memory, so W is never dequantized anywhere else.
//
// Params, the row chunks of a weight too large for one binding (a_offset / out_offset) and the forward / backward
// tile staging are shaders/common/weight_matmul.wgsl's; this file decodes W (stage_w).
// Dispatch: (ceil(cols / (4·WG_X)), ceil(rows / (4·WG_Y)), 1). Accumulation: f32 (fma).

override WG_X: u32 = 16;
override WG_Y: u32 = 16;
override TILE_K: u32 = 16; // a multiple of 4 (the wrapper checks): W is staged in groups of 4 values along K

const FMT_Q8_0: u32 = 0u;
const FMT_Q4_0: u32 = 1u;
const FMT_NF4: u32 = 2u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> scales: array<u32>;
@group(0) @binding(3) var<storage, read> quants: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

#include "common/half.wgsl"
#include "common/nf4.wgsl"
#include "common/tiled_matmul.wgsl"
#include "common/weight_matmul.wgsl"

// Stages W[m0 .. m0+nm, k0 .. k0+nk) dequantized into tile_b, in groups of 4 consecutive values along k (k0 and nk
// are multiples of 4): one u32 load of quants and one scale per group. Element (m, k) is B(p = k-k0, c = m-m0)
// when the reduction runs along k (forward), else B(p = m-m0, c = k-k0) (backward_input); see put_w.
// Consecutive invocations take consecutive groups of a row (coalesced loads).
fn stage_w(fmt: u32, m0: u32, k0: u32, nm: u32, nk: u32, reduce_k: bool, lid: u32) {
  let groups_per_patch_row = nk / 4u;
  let groups_per_row = params.k / 4u;
  for (var idx = lid; idx < nm * groups_per_patch_row; idx += WG_X * WG_Y) {
    let dm = idx / groups_per_patch_row;
    let g = idx % groups_per_patch_row;
    let m = m0 + dm;
    let kg = k0 / 4u + g; // group within the row of W: values 4·kg .. 4·kg + 3
    let dk = 4u * g; // value k0 + dk + i of row m0 + dm is put_w(reduce_k, dm, dk + i, ·)
    // Outside W (ragged M in the tile, or k past the end of the row) the quants and the scale read as 0.
    var q = 0u; // the group's 4 values in the low nibbles / bytes of q (see each format)
    var s = 0u; // raw scale bits
    if (m < params.m_count && kg < groups_per_row) {
      if (fmt == FMT_Q8_0) {
        q = quants[m * (params.k / 4u) + kg]; // bytes i = int8 value i
        let b = m * (params.k / 32u) + kg / 8u;
        s = half_of_word(scales[b >> 1u], b & 1u);
      } else if (fmt == FMT_Q4_0) {
        // Position of the group in its block: 0, 4, .., 28. Bytes j .. j+3 (j = pos % 16) hold it, in their low
        // nibbles for pos < 16 and their high nibbles after; shift so nibble i sits at bits 8i .. 8i+3.
        let pos = (kg % 8u) * 4u;
        q = quants[m * (params.k / 8u) + (kg / 8u) * 4u + (pos % 16u) / 4u] >> select(0u, 4u, pos >= 16u);
        let b = m * (params.k / 32u) + kg / 8u;
        s = half_of_word(scales[b >> 1u], b & 1u);
      } else {
        // Two bytes hold the group: byte i has value 2i in its high nibble and 2i+1 in its low nibble.
        q = quants[m * (params.k / 8u) + kg / 2u] >> ((kg & 1u) * 16u);
        s = scales[m * (params.k / 64u) + kg / 16u];
      }
    }
    if (fmt == FMT_Q8_0) {
      let d = f16_bits_to_f32(s);
      for (var i = 0u; i < 4u; i++) {
        put_w(reduce_k, dm, dk + i, f32(bitcast<i32>(q << (24u - 8u * i)) >> 24u) * d); // sign-extended byte i
      }
    } else if (fmt == FMT_Q4_0) {
      let d = f16_bits_to_f32(s);
      for (var i = 0u; i < 4u; i++) {
        put_w(reduce_k, dm, dk + i, (f32((q >> (8u * i)) & 0xfu) - 8.0) * d);
      }
    } else {
      let absmax = bitcast<f32>(s);
      for (var i = 0u; i < 2u; i++) {
        put_w(reduce_k, dm, dk + 2u * i, NF4_CODE[(q >> (8u * i + 4u)) & 0xfu] * absmax);
        put_w(reduce_k, dm, dk + 2u * i + 1u, NF4_CODE[(q >> (8u * i)) & 0xfu] * absmax);
      }
    }
  }
}

// Forward bias: binding 5, read only by the forward entry points.
@group(0) @binding(5) var<storage, read> bias: array<f32>;

// Forward, Q8_0 weight: y[N, M] = x[N, K] · dequant(W)[M, K]ᵀ + b[M].
// Bindings: a = x [N, K], scales [M, K/32] f16 pairs, quants [M, K/4] u32, out = y [N, M], bias [M] (any 4-byte
// buffer when has_bias = 0). Params: rows N, cols m_count, inner K, a_row K, a_offset 0, out_stride M,
// out_offset = first row of the chunk. Saves nothing (backward_input needs only W). f32 accumulation.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_q8_0_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  forward(FMT_Q8_0, wid, lid);
}

// Input gradient, Q8_0 weight: dx[N, K] (+)= dy[N, M] · dequant(W)[M, K].
// Bindings: a = dy [N, M], scales, quants (as forward), out = dx [N, K]. Params: rows N, cols K, inner m_count,
// a_row M, a_offset = first row of the chunk, out_stride K, out_offset 0; accumulate adds into dx (the wrapper
// sets it for every chunk after the first). f32 accumulation.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_q8_0_backward_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  store_tile(wid, lid, tiled_product(FMT_Q8_0, false, wid, lid));
}

// Forward, Q4_0 weight: y[N, M] = x[N, K] · dequant(W)[M, K]ᵀ + b[M].
// Bindings: a = x [N, K], scales [M, K/32] f16 pairs, quants [M, K/8] u32, out = y [N, M], bias [M].
// Params, dispatch and precision as matmul_q8_0_forward.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_q4_0_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  forward(FMT_Q4_0, wid, lid);
}

// Input gradient, Q4_0 weight: dx[N, K] (+)= dy[N, M] · dequant(W)[M, K].
// Bindings: a = dy [N, M], scales, quants (as forward), out = dx [N, K]. Params as matmul_q8_0_backward_input.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_q4_0_backward_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  store_tile(wid, lid, tiled_product(FMT_Q4_0, false, wid, lid));
}

// Forward, NF4 weight: y[N, M] = x[N, K] · dequant(W)[M, K]ᵀ + b[M].
// Bindings: a = x [N, K], scales = absmax [M, K/64] f32 (as u32 bits), quants [M, K/8] u32, out = y [N, M], bias [M].
// Params, dispatch and precision as matmul_q8_0_forward.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_nf4_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  forward(FMT_NF4, wid, lid);
}

// Input gradient, NF4 weight: dx[N, K] (+)= dy[N, M] · dequant(W)[M, K].
// Bindings: a = dy [N, M], scales, quants (as forward), out = dx [N, K]. Params as matmul_q8_0_backward_input.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_nf4_backward_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  store_tile(wid, lid, tiled_product(FMT_NF4, false, wid, lid));
}
