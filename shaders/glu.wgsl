// Gated MLP activations: out = act(gate) · up with act = silu (SwiGLU: llama, qwen, mistral, phi3)
// or gelu_tanh (GeGLU: gemma, gemma2), selected by the `act` Params field; and their gradients.
// Shapes: gate, up, out [N, I] (N rows, I = MLP width). The fused entry points read gate and up from one
// [N, 2I] buffer (phi3's gate_up_proj output: columns [0, I) are gate, [I, 2I) are up) and write the
// gradients in the same fused layout.
//
// silu(g) = g·σ(g),                       silu'(g) = σ(g)·(1 + g·(1 − σ(g)))
// gelu(g) = ½·g·(1 + tanh(u)), u = √(2/π)·(g + 0.044715·g³),
// gelu'(g) = ½·(1 + tanh(u)) + ½·g·(1 − tanh²(u))·√(2/π)·(1 + 3·0.044715·g²)
//
// One invocation per output element, WG per workgroup; launches folded into 2-D past the per-dimension limit
// (linear workgroup id = wid.x + wid.y · num_workgroups.x). Element-wise in f32: no accumulation.

override WG: u32 = 256;

struct Params {
  count: u32,  // N · I
  width: u32,  // I
  act: u32,    // 0: silu, 1: gelu_tanh
}

@group(0) @binding(0) var<uniform> params: Params;

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_C: f32 = 0.044715;

fn element_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG + lid;
}

fn sigmoid(g: f32) -> f32 {
  return 1.0 / (1.0 + exp(-g));
}

// tanh through a clamped argument: |u| ≥ 10 already rounds to ±1 in f32, and some backends compute tanh
// from exp, which overflows to NaN for large |u|.
fn tanh_safe(u: f32) -> f32 {
  return tanh(clamp(u, -10.0, 10.0));
}

fn activation(g: f32) -> f32 {
  if (params.act == 1u) {
    let t = tanh_safe(SQRT_2_OVER_PI * (g + GELU_C * g * g * g));
    return 0.5 * g * (1.0 + t);
  }
  return g * sigmoid(g);
}

// Returns (act(g), act'(g)).
fn activation_grad(g: f32) -> vec2<f32> {
  if (params.act == 1u) {
    let t = tanh_safe(SQRT_2_OVER_PI * (g + GELU_C * g * g * g));
    let d = 0.5 * (1.0 + t) + 0.5 * g * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_C * g * g);
    return vec2<f32>(0.5 * g * (1.0 + t), d);
  }
  let s = sigmoid(g);
  return vec2<f32>(g * s, s * (1.0 + g * (1.0 - s)));
}

// Forward, separate inputs: out[n, i] = act(gate[n, i]) · up[n, i].
// Bindings: gate [N, I] (read), up [N, I] (read), out [N, I] (write). Saves nothing (backward rereads gate and up).
// Dispatch: linearGrid(ceil(N·I / WG)).
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn glu_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let i = element_index(wid, nwg, lid);
  if (i >= params.count) { return; }
  out[i] = activation(gate[i]) * up[i];
}

// Forward, fused input: out[n, i] = act(gate_up[n, i]) · gate_up[n, I + i].
// Bindings: gate_up [N, 2I] (read), out [N, I] (write). Saves nothing.
// Dispatch: linearGrid(ceil(N·I / WG)).
@group(0) @binding(2) var<storage, read_write> out_fused: array<f32>;

@compute @workgroup_size(WG)
fn glu_forward_fused(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let i = element_index(wid, nwg, lid);
  if (i >= params.count) { return; }
  let n = i / params.width;
  let g = n * 2u * params.width + (i - n * params.width);
  out_fused[i] = activation(gate[g]) * gate[g + params.width];
}

// Backward, separate buffers: dgate = dout · up · act'(gate),  dup = dout · act(gate).
// Bindings: gate [N, I] (read), up [N, I] (read), dout [N, I] (read), dgate [N, I] (write), dup [N, I] (write).
// Dispatch: linearGrid(ceil(N·I / WG)).
@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read_write> dgate: array<f32>;
@group(0) @binding(5) var<storage, read_write> dup: array<f32>;

@compute @workgroup_size(WG)
fn glu_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let i = element_index(wid, nwg, lid);
  if (i >= params.count) { return; }
  let a = activation_grad(gate[i]);
  let d = dout[i];
  dgate[i] = d * up[i] * a.y;
  dup[i] = d * a.x;
}

// Backward, fused layout: dgate_up[n, i] = dout[n, i] · up · act'(gate), dgate_up[n, I + i] = dout[n, i] · act(gate),
// with gate = gate_up[n, i], up = gate_up[n, I + i].
// Bindings: gate_up [N, 2I] (read), dout [N, I] (read), dgate_up [N, 2I] (write).
// Dispatch: linearGrid(ceil(N·I / WG)).
@group(0) @binding(2) var<storage, read> dout_fused: array<f32>;
@group(0) @binding(3) var<storage, read_write> dgate_up: array<f32>;

@compute @workgroup_size(WG)
fn glu_backward_fused(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32) {
  let i = element_index(wid, nwg, lid);
  if (i >= params.count) { return; }
  let n = i / params.width;
  let g = n * 2u * params.width + (i - n * params.width);
  let a = activation_grad(gate[g]);
  let d = dout_fused[i];
  dgate_up[g] = d * gate[g + params.width] * a.y;
  dgate_up[g + params.width] = d * a.x;
}
