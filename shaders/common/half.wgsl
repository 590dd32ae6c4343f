// f16 and bf16 decoding from raw bits (the low 16 bits of a u32; higher bits are ignored), exact, no shader-f16.
// Provides: f16_bits_to_f32(h), bf16_bits_to_f32(h), half_of_word(word, i).
// Needs nothing from the including shader.

// Exact f16 → f32 (integer decode, so f16 subnormals survive flush-to-zero hardware, which unpack2x16float
// need not do): ±0, subnormals m·2^-24, normals, ±inf and NaN (payload kept).
fn f16_bits_to_f32(h: u32) -> f32 {
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  var v: f32;
  if (e == 0u) {
    v = f32(m) * 5.9604644775390625e-8; // m · 2^-24, exact
  } else if (e == 31u) {
    v = bitcast<f32>(0x7f800000u | (m << 13u));
  } else {
    v = bitcast<f32>(((e + 112u) << 23u) | (m << 13u));
  }
  return select(v, -v, (h & 0x8000u) != 0u);
}

// bf16 → f32: the bf16 bits are the top half of the f32 (exact; the shift drops any bits above the low 16).
fn bf16_bits_to_f32(h: u32) -> f32 {
  return bitcast<f32>(h << 16u);
}

// Half i (0: low 16 bits, 1: high) of a u32 holding two 16-bit values (the little-endian bytes of a tensor).
fn half_of_word(word: u32, i: u32) -> u32 {
  return (word >> (i * 16u)) & 0xffffu;
}
