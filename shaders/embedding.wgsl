// Embedding gather for a frozen table W [V, C] in any base-weight format (src/kernels/weights.ts): the model input.
// No backward: embeddings are not trained (LoRA adapts projections only).

// GPU layouts, selected by the override FMT (0 f32, 1 f16, 2 bf16, 3 q8_0, 4 q4_0, 5 nf4, 6..10 q2_k..q6_k):
//   f32         data: one f32 per u32, row-major [V, C]
//   f16, bf16   data: two per u32, element 2i in the low half (the safetensors bytes), row-major [V, C]
//   q8_0, q4_0  scales: f16 d per 32-block, two per u32 (even block low); quants: 32 int8 (q8_0) or 16 bytes,
//               byte j = element j low nibble | element j+16 high nibble (q4_0), per block
//   nf4         scales: f32 absmax per 64-block; quants: 32 bytes per block, byte i = element 2i HIGH nibble |
//               element 2i+1 low nibble
//   q2_k..q6_k  scales: f16 d (and dmin) per 256-block; data: the rest of each GGUF block in file order (decoded by
//               shaders/common/kquant.wgsl, whose kind is FMT − 4)
// Block formats need C % 32 == 0 (nf4: C % 64 == 0, K-quants: C % 256 == 0); dense formats take any C.
override WG: u32 = 64;
override FMT: u32 = 0u;

const FMT_F32: u32 = 0u;
const FMT_F16: u32 = 1u;
const FMT_BF16: u32 = 2u;
const FMT_Q8_0: u32 = 3u;
const FMT_Q4_0: u32 = 4u;
const FMT_Q2_K: u32 = 6u; // 6..10: q2_k, q3_k, q4_k, q5_k, q6_k

struct Params {
  n: u32,      // N: tokens (rows of out)
  c: u32,      // C: hidden size (row length of the table and of out)
  row0: u32,   // first table row of this dispatch's chunk (the bindings start there)
  rows: u32,   // table rows in this chunk
  vocab: u32,  // V: rows of the whole table
  scale: f32,  // multiplier (gemma: √C), applied in f32 after the exact decode
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> scales: array<u32>;
@group(0) @binding(3) var<storage, read> data: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

#include "common/half.wgsl"
#include "common/nf4.wgsl"
#include "common/kquant.wgsl"

fn kq_word(i: u32) -> u32 { return data[i]; }
fn kq_half(h: u32) -> u32 { return half_of_word(scales[h >> 1u], h & 1u); }

fn half_at(i: u32) -> u32 {
  return half_of_word(data[i >> 1u], i & 1u);
}

fn byte_at(i: u32) -> u32 {
  return (data[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu;
}

fn f16_scale(b: u32) -> f32 {
  return f16_bits_to_f32(half_of_word(scales[b >> 1u], b & 1u));
}

// Element (r, col) of the chunk (r relative to row0), decoded exactly to f32.
fn table_value(r: u32, col: u32) -> f32 {
  let e = r * params.c + col; // flattened index within the chunk
  if (FMT == FMT_F32) {
    return bitcast<f32>(data[e]);
  } else if (FMT == FMT_F16) {
    return f16_bits_to_f32(half_at(e));
  } else if (FMT == FMT_BF16) {
    return bf16_bits_to_f32(half_at(e));
  } else if (FMT == FMT_Q8_0) {
    let q = bitcast<i32>(byte_at(e) << 24u) >> 24u; // sign-extended int8
    return f32(q) * f16_scale(e / 32u);
  } else if (FMT == FMT_Q4_0) {
    let j = e % 32u;
    let byte = byte_at((e / 32u) * 16u + (j % 16u));
    let q = select(byte & 0xfu, byte >> 4u, j >= 16u);
    return (f32(q) - 8.0) * f16_scale(e / 32u);
  } else if (FMT >= FMT_Q2_K) {
    let pos = col % 256u; // the 4 values of pos's group are decoded together; one is kept
    return kq_group(FMT - 4u, r * (params.c / 256u) + col / 256u, pos - pos % 4u)[pos % 4u];
  }
  let byte = byte_at(e >> 1u);
  let code = select(byte >> 4u, byte & 0xfu, (e & 1u) == 1u);
  return NF4_CODE[code] * bitcast<f32>(scales[e / 64u]);
}

// embedding_forward: out[n, c] = W[ids[n], c] · scale, or 0 when ids[n] ≥ V (out-of-range ids give zero rows,
//   never NaN or a read past the table; the caller validates token ids).
// Bindings: ids u32 [N]; scales (block formats; dense formats bind a dummy that is never read); data: the dense
//   values or the quants, bound at the chunk's first row; out f32 [N, C].
// Saved for backward: nothing (no backward).
// A table larger than one binding is split into row chunks, one dispatch each (src/kernels/weight-chunks.ts): a
//   dispatch writes the rows of out whose id falls in its chunk, and the chunk that ends at V also writes the zero
//   rows of out-of-range ids, so every element of out is written exactly once.
// Dispatch: one invocation per element of out, e = n·C + c (consecutive invocations read consecutive table
//   words); 2-D fold of ceil(N·C / WG) workgroups, e = (wid.x + wid.y · num_workgroups.x) · WG + lid.x.
// Precision: the table value is decoded exactly (f16/bf16 widen, q·d and (q − 8)·d are exact, code·absmax one f32
//   rounding; K-quants round where ggml's dequantization does); the scale is one f32 multiply.
@compute @workgroup_size(WG)
fn embedding_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e = (wid.x + wid.y * nwg.x) * WG + lid;
  if (e >= params.n * params.c) { return; }
  let n = e / params.c;
  let col = e % params.c;
  let id = ids[n];
  let in_chunk = id >= params.row0 && id < params.row0 + params.rows;
  let last_chunk = params.row0 + params.rows == params.vocab;
  if (in_chunk) {
    out[e] = table_value(id - params.row0, col) * params.scale;
  } else if (id >= params.vocab && last_chunk) {
    out[e] = 0.0;
  }
}
