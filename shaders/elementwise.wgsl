// Element-wise ops over flat f32 buffers: the residual add (and its in-place form), fill and scale.
// Shapes: every buffer is a flat array of `count` elements (e.g. the residual stream [T, C]).
//
// One invocation per element, WG invocations per workgroup. The launch may be folded into 2-D when
// count / WG exceeds the per-dimension workgroup limit: the linear workgroup id is
// wid.x + wid.y · num_workgroups.x (see src/kernels/grid.ts), and ids past the end do nothing.
// Dispatch: linearGrid(ceil(count / WG)). No reductions, so precision is one f32 rounding per element.

override WG: u32 = 256;

struct Params {
  count: u32,  // number of elements
  value: f32,  // fill value / scale factor (unused by the residual entry points)
}

@group(0) @binding(0) var<uniform> params: Params;

fn element_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG + lid;
}

// Residual add: y = a + b.
// Bindings: a [count] (read), b [count] (read), y [count] (write). Saves nothing; the backward of an add
// passes dy through to both inputs, which the callers do by accumulating into the residual gradient.
@group(0) @binding(1) var<storage, read> res_a: array<f32>;
@group(0) @binding(2) var<storage, read> res_b: array<f32>;
@group(0) @binding(3) var<storage, read_write> res_y: array<f32>;

@compute @workgroup_size(WG)
fn residual_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let i = element_index(wid, nwg, lid);
  if (i >= params.count) { return; }
  res_y[i] = res_a[i] + res_b[i];
}

// In-place residual add: a += b.
// Bindings: a [count] (read_write), b [count] (read). Saves nothing.
@group(0) @binding(1) var<storage, read_write> acc_a: array<f32>;
@group(0) @binding(2) var<storage, read> acc_b: array<f32>;

@compute @workgroup_size(WG)
fn residual_forward_inplace(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                            @builtin(local_invocation_index) lid: u32) {
  let i = element_index(wid, nwg, lid);
  if (i >= params.count) { return; }
  acc_a[i] = acc_a[i] + acc_b[i];
}

// Fill: y = value (zeroing gradient buffers before accumulation, constant initialisation).
// Bindings: y [count] (write). Saves nothing.
@group(0) @binding(1) var<storage, read_write> fill_y: array<f32>;

@compute @workgroup_size(WG)
fn fill_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let i = element_index(wid, nwg, lid);
  if (i >= params.count) { return; }
  fill_y[i] = params.value;
}

// Scale in place: y *= value (e.g. gemma's embedding · √C, or averaging a gradient buffer).
// Bindings: y [count] (read_write). Saves nothing.
@compute @workgroup_size(WG)
fn scale_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let i = element_index(wid, nwg, lid);
  if (i >= params.count) { return; }
  fill_y[i] = fill_y[i] * params.value;
}
