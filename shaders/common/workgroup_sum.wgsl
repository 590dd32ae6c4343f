// Sum of one f32 per invocation over a 1-D workgroup: a tree reduction in workgroup memory, f32, the same
// association for every call (pairs lid and lid + s for s = WG/2, WG/4, … 1).
// Provides: workgroup_sum(v, lid) and its scratch array wg_sum.
// Needs from the including shader: `override WG: u32` (the workgroup size, a power of two).
// Must be called in uniform control flow by every invocation; every invocation gets the total.

var<workgroup> wg_sum: array<f32, WG>;

fn workgroup_sum(v: f32, lid: u32) -> f32 {
  wg_sum[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { wg_sum[lid] += wg_sum[lid + s]; }
    workgroupBarrier();
  }
  let total = wg_sum[0];
  workgroupBarrier();
  return total;
}
