// Cross-entropy of the LM head over a chunk of token rows, with an ignore mask, an optional final logit
// soft-cap (gemma2: l' = c·tanh(l / c)), the per-token loss and the logits gradient written in place.
// Shapes: logits [rows, V] (one chunk of Tc ≤ T tokens, starting at token t0), targets [T] (u32),
// mask [T] (u32, optional), losses [T] (per-token loss; 0 for ignored tokens), loss [1].
//
// A token t trains iff targets[t] < V (0xFFFFFFFF, the ignore index, or any id ≥ V is ignored) and, with
// has_mask = 1, mask[t] ≠ 0. `scale` is 1 / (number of trained tokens in the whole accumulated batch), so
// Σ_t losses[t] · scale is the mean loss and the gradients already carry that factor.
// Accumulation: f32 (online max / sum-of-exponentials per invocation, merged in workgroup memory).

override WG: u32 = 256;  // power of two

struct Params {
  rows: u32,        // tokens in this chunk (forward) / tokens in `losses` (reduce)
  vocab: u32,       // V
  t0: u32,          // first token of the chunk: index into targets, mask and losses
  softcap: f32,     // c > 0: logits pass through c·tanh(l / c) first; 0 disables
  scale: f32,       // gradient (and loss) scale: 1 / number of trained tokens
  has_mask: u32,    // 1: mask[t] == 0 also ignores token t
  write_grad: u32,  // 1: overwrite the logits with dlogits; 0: leave them (evaluation)
  accumulate: u32,  // reduce: 1 adds into loss[0] (gradient accumulation over micro-batches)
}

@group(0) @binding(0) var<uniform> params: Params;

const IGNORE: u32 = 0xffffffffu;
const NEG_BIG: f32 = -3.0e38;

var<workgroup> red_m: array<f32, WG>;
var<workgroup> red_s: array<f32, WG>;

#include "common/workgroup_sum.wgsl"

fn capped(l: f32) -> f32 {
  if (params.softcap > 0.0) {
    // |l / c| ≥ 10 already rounds tanh to ±1 in f32; the clamp keeps exp-based tanh away from overflow.
    return params.softcap * tanh(clamp(l / params.softcap, -10.0, 10.0));
  }
  return l;
}

// Per-token loss and gradient of one chunk:
//   l'     = softcap(l)                      (identity when softcap = 0)
//   lse    = log Σ_v exp(l'[v])
//   loss_t = lse − l'[target_t]              (0 for ignored tokens)
//   dl[v]  = (softmax(l')[v] − [v = target_t]) · scale · ∂l'/∂l,   ∂l'/∂l = 1 − (l' / c)²  (1 without a cap)
// Bindings: logits [rows, V] (read_write: dlogits overwrite them in place when write_grad = 1; rows of ignored
// tokens become 0), targets [T] (read), mask [T] (read; bind any 4-byte buffer when has_mask = 0),
// losses [T] (write, entries t0 … t0 + rows − 1).
// Saves nothing: the caller turns dlogits into dh with the head's input-gradient matmul right after.
// Dispatch: linearGrid(rows) workgroups of WG (row = wid.x + wid.y · num_workgroups.x); each invocation streams
// the columns v ≡ lid (mod WG) twice (statistics, then gradient): two reads and one write of the logits row.
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<u32>;
@group(0) @binding(3) var<storage, read> mask: array<u32>;
@group(0) @binding(4) var<storage, read_write> losses: array<f32>;

@compute @workgroup_size(WG)
fn cross_entropy_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) { return; }
  let t = params.t0 + row;
  let tgt = targets[t];
  var trained = tgt < params.vocab;
  if (params.has_mask == 1u && mask[t] == 0u) { trained = false; }
  let base = row * params.vocab;

  if (!trained) {
    if (params.write_grad == 1u) {
      for (var v = lid; v < params.vocab; v += WG) { logits[base + v] = 0.0; }
    }
    if (lid == 0u) { losses[t] = 0.0; }
    return;
  }

  // Online log-sum-exp: running max m and Σ exp(l' − m) per invocation.
  var m = NEG_BIG;
  var s = 0.0;
  for (var v = lid; v < params.vocab; v += WG) {
    let l = capped(logits[base + v]);
    if (l > m) {
      s = s * exp(m - l) + 1.0;
      m = l;
    } else {
      s += exp(l - m);
    }
  }
  red_m[lid] = m;
  red_s[lid] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      let m1 = red_m[lid];
      let m2 = red_m[lid + stride];
      let mm = max(m1, m2);
      red_s[lid] = red_s[lid] * exp(m1 - mm) + red_s[lid + stride] * exp(m2 - mm);
      red_m[lid] = mm;
    }
    workgroupBarrier();
  }
  let lse = red_m[0] + log(red_s[0]);
  let target_logit = capped(logits[base + tgt]);
  // Every invocation has read logits[base + tgt] before anyone overwrites it below.
  workgroupBarrier();
  if (lid == 0u) { losses[t] = lse - target_logit; }

  if (params.write_grad == 1u) {
    for (var v = lid; v < params.vocab; v += WG) {
      let l = capped(logits[base + v]);
      var g = exp(l - lse);
      if (v == tgt) { g -= 1.0; }
      g *= params.scale;
      if (params.softcap > 0.0) {
        let r = l / params.softcap;
        g *= 1.0 - r * r;
      }
      logits[base + v] = g;
    }
  }
}

// Final loss: loss[0] (+)= scale · Σ_t losses[t]. One pass per step, so only this scalar is read back.
// Bindings: losses [T] (read), loss [1] (write, or add with accumulate = 1).
// Dispatch: (1, 1, 1): one workgroup of WG strides over the T per-token losses (T is at most a few 10⁴ per step);
// tree reduction in workgroup memory, f32 accumulation, no atomics.
@group(0) @binding(1) var<storage, read> losses_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> loss_out: array<f32>;

@compute @workgroup_size(WG)
fn cross_entropy_forward_reduce(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var t = lid; t < params.rows; t += WG) { s += losses_in[t]; }
  let sum = workgroup_sum(s, lid);
  if (lid == 0u) {
    var total = sum * params.scale;
    if (params.accumulate == 1u) { total += loss_out[0]; }
    loss_out[0] = total;
  }
}
