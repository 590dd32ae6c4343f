// AdamW over a flat parameter buffer, and the global gradient norm with its clip factor, both without readback.
// Shapes: param, grad, m, v [n] (flat: every trainable tensor of the step packed in one buffer, or one call per
// buffer), partials [P] (sum-of-squares scratch), stats [2] = (‖g‖, clip), or with the guard
// stats [4] = (‖g‖, clip, loss, skip): skip = 1 when the norm or the loss is NaN / ±Inf, and then no update runs
// (the trainer reads all four back once per step, and a NaN step leaves the adapter and its moments untouched).
//
// Update (PyTorch AdamW, decoupled decay, bias-corrected), with g = grad · grad_scale · clip:
//   m ← β1·m + (1 − β1)·g
//   v ← β2·v + (1 − β2)·g²          (1 − β1 and 1 − β2 arrive precomputed in float64)
//   p ← p·(1 − lr·wd) − (lr / bc1) · m / (√v / √bc2 + eps),   bc1 = 1 − β1ᵗ, bc2 = 1 − β2ᵗ
// The step t enters through bc1 and √bc2, computed in float64 on the host: 1 − βᵗ cancels badly in f32 at small t.
// Accumulation: f32 (element-wise update; the norm's sums of squares are f32 tree reductions).

override WG: u32 = 256;  // power of two

struct Params {
  count: u32,         // adamw: n;  norm partial: elements of this gradient buffer;  norm finalize: P
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  weight_decay: f32,
  bc1: f32,           // 1 − β1ᵗ
  bc2_sqrt: f32,      // √(1 − β2ᵗ)
  one_minus_beta1: f32,  // 1 − β1 and 1 − β2 from the host in float64: forming 1 − 0.999 in f32 from the rounded
  one_minus_beta2: f32,  // β2 would be off by 1.3e-5 (relative) in every v update
  grad_scale: f32,    // adamw: multiplies every gradient (1 / accumulation steps, loss scaling …);
                      // norm finalize: the same factor, so the norm is that of the scaled gradient
  has_clip: u32,      // adamw: 1 multiplies the gradient by stats[1] as well
  partial_offset: u32,  // norm partial: first partial slot of this buffer
  max_norm: f32,      // norm finalize: clip threshold; ≤ 0 disables clipping (clip = 1)
  guard: u32,         // 1: finalize reads the loss and writes stats[2..3]; adamw skips the update when stats[3] ≠ 0
}

// True unless x is NaN or ±Inf (all exponent bits set); WGSL has no isnan / isinf.
fn is_finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }

@group(0) @binding(0) var<uniform> params: Params;

#include "common/workgroup_sum.wgsl"

// Update: one invocation per parameter element.
// Bindings: param [n] (read_write), grad [n] (read), m [n] (read_write), v [n] (read_write),
// stats [2] (read; stats[1] is the clip factor from grad_norm_forward_finalize; bind any 8-byte buffer when has_clip = 0;
// [4] with guard = 1, when stats[3] ≠ 0 skips the update).
// Dispatch: linearGrid(ceil(n / WG)), linear workgroup id = wid.x + wid.y · num_workgroups.x.
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m1: array<f32>;
@group(0) @binding(4) var<storage, read_write> m2: array<f32>;
@group(0) @binding(5) var<storage, read> stats_in: array<f32>;

@compute @workgroup_size(WG)
fn adamw_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= params.count) { return; }
  var scale = params.grad_scale;
  if (params.has_clip == 1u) {
    if (params.guard == 1u && stats_in[3] != 0.0) { return; }
    scale *= stats_in[1];
  }
  let g = grad[i] * scale;
  let m = params.beta1 * m1[i] + params.one_minus_beta1 * g;
  let v = params.beta2 * m2[i] + params.one_minus_beta2 * g * g;
  m1[i] = m;
  m2[i] = v;
  let denom = sqrt(v) / params.bc2_sqrt + params.eps;
  param[i] = param[i] * (1.0 - params.lr * params.weight_decay) - (params.lr / params.bc1) * m / denom;
}

// Gradient norm, pass 1 (once per gradient buffer): partials[offset + w] = Σ g² over the elements that
// workgroup w visits (i = w·WG + lid, stepping by groups·WG).
// Bindings: grad [count] (read), partials [P] (read_write; this buffer's slots offset … offset + groups − 1).
// Dispatch: (groups, 1, 1) with groups ≤ 65535 chosen by the wrapper. Tree reduction in workgroup memory, f32.
@group(0) @binding(1) var<storage, read> norm_grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;

@compute @workgroup_size(WG)
fn grad_norm_forward_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                             @builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  let stride = nwg.x * WG;
  for (var i = wid.x * WG + lid; i < params.count; i += stride) {
    let g = norm_grad[i];
    s = fma(g, g, s);
  }
  let total = workgroup_sum(s, lid);
  if (lid == 0u) { partials[params.partial_offset + wid.x] = total; }
}

// Gradient norm, pass 2: norm = grad_scale · √(Σ partials), clip = min(1, max_norm / (norm + 1e-6)) (1 when
// max_norm ≤ 0), written to stats = (norm, clip) for adamw_forward to read on the GPU; with guard = 1 also
// stats[2] = loss[0] and stats[3] = 1 when the norm or the loss is not finite (else 0).
// Bindings: partials [P] (read), stats [2] or [4] with the guard (write), loss [1] (read with guard = 1; bind any 4-byte buffer otherwise).
// Dispatch: (1, 1, 1), one workgroup striding over the P partials; f32 tree reduction.
@group(0) @binding(1) var<storage, read> partials_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats_out: array<f32>;
@group(0) @binding(3) var<storage, read> guard_loss: array<f32>;

@compute @workgroup_size(WG)
fn grad_norm_forward_finalize(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = lid; i < params.count; i += WG) { s += partials_in[i]; }
  let total = workgroup_sum(s, lid);
  if (lid == 0u) {
    let norm = params.grad_scale * sqrt(total);
    var clip = 1.0;
    if (params.max_norm > 0.0) { clip = min(1.0, params.max_norm / (norm + 1e-6)); }
    stats_out[0] = norm;
    stats_out[1] = clip;
    if (params.guard == 1u) {
      let loss = guard_loss[0];
      stats_out[2] = loss;
      stats_out[3] = select(1.0, 0.0, is_finite(norm) && is_finite(loss));
    }
  }
}
