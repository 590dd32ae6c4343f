// GGUF K-quant super-blocks (256 values each) decoded exactly from the GPU layout of src/formats/quant-blocks.ts
// (docs/formats.md has the file layouts): per block, `scales` holds its f16 super-scales (d, and dmin where the
// format has mins), two per u32 across blocks; `quants` holds the rest of the block's bytes in file order, a whole
// number of u32 per block. Kinds, with u32 of quants per block, f16 per block and value:
//   2 Q2_K  20 u32 (16 scale|min bytes, 64 quant bytes)               2 (d, dmin)  d·sc·q − dmin·m, q in 0..3
//   3 Q3_K  27 u32 (32 high-bit bytes, 64 quant bytes, 12 scale bytes)  1 (d)        d·(sc − 32)·q, q in −4..3
//   4 Q4_K  35 u32 (12 scale|min bytes, 128 nibble bytes)               2 (d, dmin)  d·sc·q − dmin·m, q in 0..15
//   5 Q5_K  43 u32 (12 scale|min bytes, 32 fifth-bit bytes, 128 nibble bytes)  2    d·sc·q − dmin·m, q in 0..31
//   6 Q6_K  52 u32 (128 nibble bytes, 64 two-bit bytes, 16 int8 scales)  1 (d)       d·sc·q, q in −32..31
// Products are rounded in f32 at the points ggml's dequantize_row_* rounds them (d·sc first, then ·q, then − m).
//
// Provides: kq_group(kind, block, pos) -> vec4<f32>: values pos .. pos+3 (pos % 4 == 0, pos < 256) of a block.
// Needs from the including shader: common/half.wgsl (f16_bits_to_f32, included before this piece), and
//   fn kq_word(i: u32) -> u32   u32 i of the quants binding
//   fn kq_half(h: u32) -> u32   the raw bits of f16 h of the scales binding (h = block · f16 per block + i)

// Byte i of the block whose quants start at u32 w0.
fn kq_byte(w0: u32, i: u32) -> u32 {
  return (kq_word(w0 + i / 4u) >> (8u * (i % 4u))) & 0xffu;
}

fn kq_scale(h: u32) -> f32 {
  return f16_bits_to_f32(kq_half(h));
}

// Q2_K and Q3_K place value 128n + 32j + l (n < 2, j < 4, l < 32) in bits 2j of quant byte 32n + l, with scale
// 8n + 2j + l/16 (16 values per scale).
fn kq2_group(b: u32, pos: u32) -> vec4<f32> {
  let w0 = b * 20u;
  let n = pos / 128u;
  let j = (pos / 32u) % 4u;
  let l = pos % 32u;
  let sc = kq_byte(w0, 8u * n + 2u * j + l / 16u); // low nibble scale, high nibble min
  let dl = kq_scale(2u * b) * f32(sc & 15u);
  let ml = kq_scale(2u * b + 1u) * f32(sc >> 4u);
  let q = kq_word(w0 + 4u + (32u * n + l) / 4u) >> (2u * j);
  var v: vec4<f32>;
  for (var i = 0u; i < 4u; i++) {
    v[i] = dl * f32((q >> (8u * i)) & 3u) - ml;
  }
  return v;
}

// Q3_K: scale `is` has its low 4 bits in byte is % 8 (nibble is / 8) and its high 2 bits in byte 8 + is % 4
// (bits 2·(is / 4)) of the 12 scale bytes; a clear high bit (bit 4n + j of byte l of the first 32) subtracts 4.
fn kq3_group(b: u32, pos: u32) -> vec4<f32> {
  let w0 = b * 27u;
  let n = pos / 128u;
  let j = (pos / 32u) % 4u;
  let l = pos % 32u;
  let is = 8u * n + 2u * j + l / 16u;
  let low = (kq_byte(w0, 96u + is % 8u) >> (4u * (is / 8u))) & 15u;
  let high = (kq_byte(w0, 104u + is % 4u) >> (2u * (is / 4u))) & 3u;
  let dl = kq_scale(b) * f32(i32(low | (high << 4u)) - 32);
  let q = kq_word(w0 + 8u + (32u * n + l) / 4u) >> (2u * j);
  let h = kq_word(w0 + l / 4u) >> (4u * n + j);
  var v: vec4<f32>;
  for (var i = 0u; i < 4u; i++) {
    let hi = (h >> (8u * i)) & 1u;
    v[i] = dl * f32(i32((q >> (8u * i)) & 3u) - select(4, 0, hi == 1u));
  }
  return v;
}

// Scale and min (6 bits each) of sub-block j < 8 of a Q4_K / Q5_K block from its 12 scale bytes: j < 4 in the low
// 6 bits of bytes j and j + 4; j ≥ 4 in the nibbles of byte j + 4 with their top 2 bits in bytes j − 4 and j.
fn kq4_scale_min(w0: u32, j: u32) -> vec2<u32> {
  if (j < 4u) {
    return vec2<u32>(kq_byte(w0, j) & 63u, kq_byte(w0, j + 4u) & 63u);
  }
  let packed = kq_byte(w0, j + 4u);
  return vec2<u32>((packed & 15u) | ((kq_byte(w0, j - 4u) >> 6u) << 4u), (packed >> 4u) | ((kq_byte(w0, j) >> 6u) << 4u));
}

// Q4_K and Q5_K place value 64g + 32·hi + l (g < 4, hi < 2, l < 32) in nibble hi of byte 32g + l of the nibble
// bytes, sub-block 2g + hi; Q5_K's fifth bit is bit 2g + hi of byte l of the 32 fifth-bit bytes.
fn kq45_group(five: bool, b: u32, pos: u32) -> vec4<f32> {
  let w0 = b * select(35u, 43u, five);
  let g = pos / 64u;
  let hi = (pos / 32u) % 2u;
  let l = pos % 32u;
  let sm = kq4_scale_min(w0, 2u * g + hi);
  let d1 = kq_scale(2u * b) * f32(sm.x);
  let m1 = kq_scale(2u * b + 1u) * f32(sm.y);
  let q = kq_word(w0 + select(3u, 11u, five) + (32u * g + l) / 4u) >> (4u * hi);
  var h = 0u;
  if (five) { h = kq_word(w0 + 3u + l / 4u) >> (2u * g + hi); }
  var v: vec4<f32>;
  for (var i = 0u; i < 4u; i++) {
    v[i] = d1 * f32(((q >> (8u * i)) & 15u) | (((h >> (8u * i)) & 1u) << 4u)) - m1;
  }
  return v;
}

// Q6_K places value 128n + 32t + l (n < 2, t < 4, l < 32) in nibble t / 2 of byte 64n + 32·(t % 2) + l of the
// nibble bytes, its top 2 bits in bits 2t of byte 32n + l of the two-bit bytes; int8 scale 8n + 2t + l / 16.
fn kq6_group(b: u32, pos: u32) -> vec4<f32> {
  let w0 = b * 52u;
  let n = pos / 128u;
  let t = (pos / 32u) % 4u;
  let l = pos % 32u;
  let sc = bitcast<i32>(kq_byte(w0, 192u + 8u * n + 2u * t + l / 16u) << 24u) >> 24u;
  let dl = kq_scale(b) * f32(sc);
  let ql = kq_word(w0 + (64u * n + 32u * (t % 2u) + l) / 4u) >> (4u * (t / 2u));
  let qh = kq_word(w0 + 32u + (32u * n + l) / 4u) >> (2u * t);
  var v: vec4<f32>;
  for (var i = 0u; i < 4u; i++) {
    let q = ((ql >> (8u * i)) & 15u) | (((qh >> (8u * i)) & 3u) << 4u);
    v[i] = dl * f32(i32(q) - 32);
  }
  return v;
}

fn kq_group(kind: u32, b: u32, pos: u32) -> vec4<f32> {
  switch (kind) {
    case 2u: { return kq2_group(b, pos); }
    case 3u: { return kq3_group(b, pos); }
    case 4u: { return kq45_group(false, b, pos); }
    case 5u: { return kq45_group(true, b, pos); }
    default: { return kq6_group(b, pos); }
  }
}
