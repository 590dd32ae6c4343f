// Quantizes a weight W [M, K] (f32, or f16 / bf16 packed two per u32 as in safetensors) into the GPU block
// layouts of shaders/matmul_quant.wgsl: GGUF Q8_0, GGUF Q4_0 (bit-exact with ggml's quantize_row_q8_0_ref /
// quantize_row_q4_0_ref) and bitsandbytes NF4 (blocks of 64, f32 absmax, bitsandbytes' midpoint decisions).
// Blocks run along the flattened tensor; rows hold whole blocks (K % 32 == 0, NF4 K % 64 == 0).
//
// Exactness on any conforming GPU: WGSL guarantees correctly rounded f32 `*` and `+` but only 2.5 ULP for `/`, and
// pack2x16float may round either way, so the divisions (amax / 127, 1 / d, 1 / absmax) and the f32 → f16 scale
// conversion (round to nearest even) are done in integer arithmetic here. `params.zero` (always 0) is XORed into
// the bits of products that ggml rounds before the next add, so no compiler can fuse them into an fma.
// Not covered: subnormal f32 inputs (GPUs may flush them), blocks with amax below 2^-119 (see div_rn), NaN, infinities.
//
// One invocation per pair of 32-blocks (Q8_0, Q4_0: the pair shares one u32 of f16 scales) or per 64-block (NF4);
// it reads its values twice (absmax pass, quantize pass) rather than holding them in registers.
// Dispatch: 2-D, (min(G, 65535), ceil(G / 65535)) workgroups of WG, G = ceil(invocations / WG);
// invocation i = global_id.x + global_id.y · num_workgroups.x · WG. Arithmetic: f32 plus exact integer steps.

override WG: u32 = 64;

const SRC_F32: u32 = 0u;
const SRC_F16: u32 = 1u;
const SRC_BF16: u32 = 2u;

const F32_ONE: u32 = 0x3f800000u;
const F32_127: u32 = 0x42fe0000u;

// The 15 decision points of bitsandbytes' dQuantizeNF4 (midpoints of adjacent NF4 code values, rounded to f32),
// as bits: WGSL does not promise how a decimal literal rounds to f32. code = #{i : x > NF4_MID[i]}; a value equal
// to a midpoint takes the lower code, as bitsandbytes' `x > t` tree does.
const NF4_MID = array<u32, 15>(
  0xbf591cd8u, 0xbf1c5270u, 0xbeeb8480u, 0xbeadea76u, 0xbe703cecu, 0xbe0d38bcu, 0xbd3a7871u, 0x3d22faffu,
  0x3df64862u, 0x3e5067e0u, 0x3e9582d4u, 0x3ec753f9u, 0x3f006d04u, 0x3f248dafu, 0x3f5c89dau,
);

struct Params {
  blocks: u32,     // blocks in this dispatch (a row chunk of W)
  src_format: u32, // 0 f32, 1 f16, 2 bf16
  zero: u32,       // always 0; opaque to the compiler (see the header)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> scales: array<u32>;
@group(0) @binding(3) var<storage, read_write> quants: array<u32>;

#include "common/half.wgsl"

// Element e of this dispatch's source as f32 (f16 and bf16 widen exactly).
fn load_src(e: u32) -> f32 {
  if (params.src_format == SRC_F32) { return bitcast<f32>(src[e]); }
  let half = half_of_word(src[e >> 1u], e & 1u);
  if (params.src_format == SRC_F16) { return f16_bits_to_f32(half); }
  return bf16_bits_to_f32(half);
}

// A product whose bits pass through an XOR with a runtime zero: the value is unchanged, but it can no longer be
// contracted with a following add or subtract.
fn opaque(x: f32) -> f32 {
  return bitcast<f32>(bitcast<u32>(x) ^ params.zero);
}

// Correctly rounded (to nearest, ties to even) a / b, as f32 bits, for a >= 0 and b > 0 normal (a may be 0);
// integer long division on the significands. A quotient below the normal range returns 0 and an input below it
// is not supported: that happens only for blocks whose amax is under 2^-119, where ggml's own 1/d overflows to
// infinity and its output is undefined. A quotient above the range returns +inf.
fn div_rn(a_bits: u32, b_bits: u32) -> u32 {
  if (a_bits == 0u) { return 0u; }
  let bm = (b_bits & 0x7fffffu) | 0x800000u; // significands with the leading 1, in [2^23, 2^24)
  var num = (a_bits & 0x7fffffu) | 0x800000u;
  var e = i32(a_bits >> 23u) - i32(b_bits >> 23u) + 127; // biased exponent of the quotient when num >= bm
  if (num < bm) {
    num = num << 1u;
    e = e - 1;
  }
  // num / bm in [1, 2): 24 quotient bits; afterwards num holds twice the remainder.
  var q = 0u;
  for (var i = 0u; i < 24u; i++) {
    q = q << 1u;
    if (num >= bm) {
      num = num - bm;
      q = q | 1u;
    }
    num = num << 1u;
  }
  if (e < 1) { return 0u; }
  if (e >= 255) { return 0x7f800000u; }
  var bits = (u32(e - 1) << 23u) + q; // q's leading 1 lands in the exponent field, making it e
  if (num > bm || (num == bm && (q & 1u) == 1u)) { bits = bits + 1u; } // a carry moves to the next binade / inf
  return bits;
}

// f32 (as bits) → f16 bits, round to nearest even, overflow to infinity, f16 subnormals exact.
fn f32_to_f16_bits(bits: u32) -> u32 {
  let sign = (bits >> 16u) & 0x8000u;
  let biased = i32((bits >> 23u) & 0xffu);
  let frac = bits & 0x7fffffu;
  if (biased == 255) { return sign | 0x7c00u | select(0u, 0x200u, frac != 0u); }
  let he = biased - 112; // f16 biased exponent
  if (he >= 31) { return sign | 0x7c00u; }
  if (he >= 1) {
    var h = (u32(he) << 10u) | (frac >> 13u);
    let rest = frac & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u) == 1u)) { h = h + 1u; } // may carry to the next binade / inf
    return sign | h;
  }
  if (he < -10) { return sign; } // below half the smallest subnormal
  let m = frac | 0x800000u;
  let shift = u32(14 - he);        // 14 .. 24
  var h = m >> shift;
  let rest = m & ((1u << shift) - 1u);
  let half = 1u << (shift - 1u);
  if (rest > half || (rest == half && (h & 1u) == 1u)) { h = h + 1u; }
  return sign | h;
}

fn invocation(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// C's roundf: half-way cases away from zero (WGSL's round() goes to even). v - trunc(v) is exact.
fn round_half_away(v: f32) -> f32 {
  let t = trunc(v);
  return select(t, t + sign(v), abs(v - t) >= 0.5);
}

// Q8_0: per 32-block d = amax / 127 (f32), id = 1/d, q = roundf(x·id), d stored as f16 (ggml's quantize_row_q8_0_ref).
// Bindings: src [M·K] (f32, or f16/bf16 pairs), scales [ceil(blocks/2)] u32 (f16 d pairs), quants [blocks·8] u32.
// Params: blocks, src_format, zero. Invocation i: blocks 2i, 2i+1. Saves nothing.
@compute @workgroup_size(WG)
fn quantize_q8_0_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let pair = invocation(gid, nwg);
  if (2u * pair >= params.blocks) { return; }
  var scale_word = 0u;
  for (var h = 0u; h < 2u; h++) {
    let blk = 2u * pair + h;
    if (blk >= params.blocks) { break; }
    let e0 = blk * 32u;
    var amax = 0.0;
    for (var j = 0u; j < 32u; j++) { amax = max(amax, abs(load_src(e0 + j))); }
    let d = div_rn(bitcast<u32>(amax), F32_127);
    var id = 0.0;
    if (d != 0u) { id = bitcast<f32>(div_rn(F32_ONE, d)); }
    scale_word = scale_word | (f32_to_f16_bits(d) << (16u * h));
    for (var w = 0u; w < 8u; w++) {
      var word = 0u;
      for (var i = 0u; i < 4u; i++) {
        let q = i32(round_half_away(opaque(load_src(e0 + 4u * w + i) * id)));
        word = word | ((bitcast<u32>(q) & 0xffu) << (8u * i));
      }
      quants[blk * 8u + w] = word;
    }
  }
  scales[pair] = scale_word;
}

// Q4_0: per 32-block max = the value of largest magnitude (first one on ties), d = max / -8, id = 1/d,
// q = min(15, trunc(x·id + 8.5)), byte j = q[j] | q[j+16] << 4, d stored as f16 (ggml's quantize_row_q4_0_ref).
// Bindings: src, scales [ceil(blocks/2)] u32 (f16 d pairs), quants [blocks·4] u32. Params and invocations as Q8_0.
@compute @workgroup_size(WG)
fn quantize_q4_0_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let pair = invocation(gid, nwg);
  if (2u * pair >= params.blocks) { return; }
  var scale_word = 0u;
  for (var h = 0u; h < 2u; h++) {
    let blk = 2u * pair + h;
    if (blk >= params.blocks) { break; }
    let e0 = blk * 32u;
    var amax = 0.0;
    var vmax = 0.0;
    for (var j = 0u; j < 32u; j++) {
      let v = load_src(e0 + j);
      if (amax < abs(v)) {
        amax = abs(v);
        vmax = v;
      }
    }
    let d = vmax * -0.125; // = max / -8 exactly (a power of two); -0.0 for an all-zero block, as in ggml
    let d_bits = bitcast<u32>(d);
    var id = 0.0;
    if ((d_bits & 0x7fffffffu) != 0u) {
      id = bitcast<f32>(div_rn(F32_ONE, d_bits & 0x7fffffffu) | (d_bits & 0x80000000u));
    }
    scale_word = scale_word | (f32_to_f16_bits(d_bits) << (16u * h));
    for (var w = 0u; w < 4u; w++) {
      var word = 0u;
      for (var i = 0u; i < 4u; i++) {
        let j = 4u * w + i;
        let q0 = min(15, i32(opaque(load_src(e0 + j) * id) + 8.5));
        let q1 = min(15, i32(opaque(load_src(e0 + j + 16u) * id) + 8.5));
        word = word | (u32(q0 | (q1 << 4u)) << (8u * i));
      }
      quants[blk * 4u + w] = word;
    }
  }
  scales[pair] = scale_word;
}

// NF4: per 64-block absmax (f32), x·(1/absmax) → code = number of NF4_MID below it; byte j = code[2j] << 4 | code[2j+1].
// An all-zero block stores absmax 0 and code 0 everywhere (bitsandbytes: 1/0 = inf, 0·inf = NaN, no `x > t` holds).
// Bindings: src, scales [blocks] f32 absmax (as u32 bits), quants [blocks·8] u32. Params: blocks, src_format.
// Invocation i: block i. Saves nothing.
@compute @workgroup_size(WG)
fn quantize_nf4_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let blk = invocation(gid, nwg);
  if (blk >= params.blocks) { return; }
  let e0 = blk * 64u;
  var amax = 0.0;
  for (var j = 0u; j < 64u; j++) { amax = max(amax, abs(load_src(e0 + j))); }
  let amax_bits = bitcast<u32>(amax);
  scales[blk] = amax_bits;
  let live = amax_bits != 0u;
  var inv = 0.0;
  if (live) { inv = bitcast<f32>(div_rn(F32_ONE, amax_bits)); }
  for (var w = 0u; w < 8u; w++) {
    var word = 0u;
    for (var j = 0u; j < 8u; j++) {
      let x = load_src(e0 + 8u * w + j) * inv;
      var code = 0u;
      for (var t = 0u; t < 15u; t++) { code += select(0u, 1u, x > bitcast<f32>(NF4_MID[t])); }
      code = select(0u, code, live);
      // Element 8w + j sits in byte j/2 of the word: the first of each pair in the HIGH nibble.
      word = word | (code << (8u * (j / 2u) + 4u * (1u - (j & 1u))));
    }
    quants[blk * 8u + w] = word;
  }
}
