// Non-finite scan: counts the values of a weight's storage array that are NaN, ±Inf or of a magnitude no real
// weight has (|x| ≥ 2^40, which overflows f32 sums within a few layers), and finds the first one, so a corrupt
// checkpoint is refused at load with the tensor named instead of turning every logit into NaN.
// A value is bad when its biased exponent field is ≥ exp_limit: f32 bits 23–30 and bf16 bits 7–14 with limit
// 127 + 40 = 167, f16 bits 10–14 with limit 31 (all ones: only Inf / NaN, f16 cannot exceed 65504). 16-bit values
// come two per u32 word, the low half first. Integers only: no floating-point rounding at all.
//
// Bindings: words [n_words] u32 (read: the array as stored), result [2 · slots] atomic u32 (read_write):
// result[2·slot] += non-finite values in this range, result[2·slot + 1] = min(its own, first bad element index).
// Saves nothing (no backward). Dispatch: linearGrid(ceil(n_words / WG)), one word per invocation; the linear
// workgroup id is wid.x + wid.y · num_workgroups.x and ids past n_words do nothing.

override WG: u32 = 256;

struct Params {
  n_words: u32,      // u32 words in this range of the array
  halves: u32,       // 0: one f32 per word; 1: two 16-bit values per word
  exp_shift: u32,    // position of the exponent field in one value
  exp_mask: u32,     // the exponent field's mask once shifted down
  exp_limit: u32,    // an exponent field ≥ this is a bad value
  slot: u32,         // which result pair to update
  first_element: u32, // element index of word 0 of this range (ranges split a large array)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> words: array<u32>;
@group(0) @binding(2) var<storage, read_write> result: array<atomic<u32>>;

fn exponent_bad(v: u32) -> bool {
  return ((v >> params.exp_shift) & params.exp_mask) >= params.exp_limit;
}

@compute @workgroup_size(WG)
fn nonfinite_count(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= params.n_words) { return; }
  let w = words[i];
  var bad = 0u;
  var first = 0xffffffffu;
  if (params.halves == 0u) {
    if (exponent_bad(w)) { bad = 1u; first = params.first_element + i; }
  } else {
    if (exponent_bad(w >> 16u)) { bad = 1u; first = params.first_element + 2u * i + 1u; }
    if (exponent_bad(w & 0xffffu)) { bad = bad + 1u; first = params.first_element + 2u * i; }
  }
  if (bad > 0u) {
    atomicAdd(&result[2u * params.slot], bad);
    atomicMin(&result[2u * params.slot + 1u], first);
  }
}
