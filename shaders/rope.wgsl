// Rotary position embedding (RoPE), rotate-half pairing (HF): within each head, dim i (i < Drot/2) pairs with
// dim i + Drot/2 and the pair turns by θ = pos·f_i; dims Drot..D-1 pass through (partial rotary, Drot ≤ D, even).
//   y[i]        = x[i]·cos θ − x[i + Drot/2]·sin θ
//   y[i+Drot/2] = x[i + Drot/2]·cos θ + x[i]·sin θ
// The backward is the inverse rotation (θ → −θ) of the gradient; RoPE is linear, so nothing is saved.
// Shapes: x, y [T, NH, D] (T tokens of all rows flattened, NH = H for q or Hkv for k), positions u32 [T] (per token,
// so packed sequences restart at 0), turns vec2<u32> [Drot/2].
//
// Angles are exact to ~1e-7 rad at any position < 2³²: the host gives each frequency as a 64-bit fixed-point
// fraction of a turn, turns_i = f_i / 2π mod 1 = (hi·2³² + lo) / 2⁶⁴ (src/kernels/rope-freqs.ts, from float64).
// pos·turns_i mod 1 is then computed exactly in u32 arithmetic (the top 32 bits of the fractional product),
// reduced to the nearest quarter turn, and cos/sin of the remaining |x| ≤ π/4 come from Taylor polynomials
// (truncation < 2e-9) — never from f32 pos·inv_freq (error ~ulp(pos) rad: 4e-3 at pos 1e5) nor from the
// built-in sin/cos (WGSL only promises 2⁻¹¹ absolute error, and only on [−π, π]).
//
// Dispatch (all entry points): one invocation per (token, lane), lane < Drot/2 rotates one pair of every head,
// lane ≥ Drot/2 (out-of-place only) copies pass-through dim Drot + lane − Drot/2 of every head; the linear id
// wid.x + wid.y·num_workgroups.x folds launches over 65535 workgroups into 2-D. Arithmetic: f32 (angles: u32).

override WG: u32 = 64;

struct Params {
  tokens: u32,    // T (every row of the batch, flattened)
  heads: u32,     // NH
  head_dim: u32,  // D
  half_rot: u32,  // Drot / 2
  lanes: u32,     // per token: half_rot, plus D − Drot pass-through lanes out of place
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> positions: array<u32>;
@group(0) @binding(2) var<storage, read> turns: array<vec2<u32>>;

// High 32 bits of the 64-bit product a·b, from 16-bit halves (WGSL has no widening multiply).
fn mul_hi(a: u32, b: u32) -> u32 {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let p00 = a0 * b0;
  let p01 = a0 * b1;
  let p10 = a1 * b0;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
}

// (cos θ, sin θ) for θ = 2π·frac(pos·turn), turn = (hi, lo) a 64-bit fraction of a full turn.
fn rope_cos_sin(pos: u32, turn: vec2<u32>) -> vec2<f32> {
  // frac(pos·turn) in units of 2⁻³² turn (wrapping u32 arithmetic is arithmetic mod one turn).
  let frac = pos * turn.x + mul_hi(pos, turn.y);
  // Nearest quarter turn q, and the remainder in [−1/8, 1/8) turn as a signed integer.
  let q = (frac + 0x20000000u) >> 30u;
  let rem = bitcast<i32>(frac - (q << 30u));
  let x = f32(rem) * 1.4629180792671596e-9; // 2π / 2³²: |x| ≤ π/4
  let x2 = x * x;
  let s = x * (1.0 + x2 * (-1.6666666666666666e-1 + x2 * (8.333333333333333e-3 + x2 * (-1.984126984126984e-4 + x2 * 2.7557319223985893e-6))));
  let c = 1.0 + x2 * (-0.5 + x2 * (4.1666666666666664e-2 + x2 * (-1.388888888888889e-3 + x2 * (2.48015873015873e-5 + x2 * -2.755731922398589e-7))));
  switch (q & 3u) {
    case 0u: { return vec2<f32>(c, s); }
    case 1u: { return vec2<f32>(-s, c); }
    case 2u: { return vec2<f32>(-c, -s); }
    default: { return vec2<f32>(s, -c); }
  }
}

struct Lane {
  ok: bool,
  token: u32,
  lane: u32,
}

fn lane_of(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> Lane {
  let id = (wid.x + wid.y * nwg.x) * WG + lid;
  let total = params.tokens * params.lanes;
  return Lane(id < total, id / max(params.lanes, 1u), id % max(params.lanes, 1u));
}

// ---------------------------------------------------------------------------------------------------------------
// Out of place.
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

fn rope_out_of_place(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, sign: f32) {
  let l = lane_of(wid, nwg, lid);
  if (!l.ok) { return; }
  let D = params.head_dim;
  let half = params.half_rot;
  let base = l.token * params.heads * D;
  if (l.lane < half) {
    let cs = rope_cos_sin(positions[l.token], turns[l.lane]);
    let sn = sign * cs.y;
    for (var h = 0u; h < params.heads; h++) {
      let i = base + h * D + l.lane;
      let a = x[i];
      let b = x[i + half];
      y[i] = a * cs.x - b * sn;
      y[i + half] = b * cs.x + a * sn;
    }
  } else {
    let d = 2u * half + (l.lane - half);
    for (var h = 0u; h < params.heads; h++) {
      let i = base + h * D + d;
      y[i] = x[i];
    }
  }
}

// Forward, out of place: y = rope(x).
// Bindings: positions u32 [T], turns vec2<u32> [Drot/2], x [T, NH, D] (read), y [T, NH, D] (written; every element).
// Params lanes = D − Drot/2. Saves nothing.
@compute @workgroup_size(WG)
fn rope_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  rope_out_of_place(wid, nwg, lid, 1.0);
}

// Backward, out of place: dx = rope⁻¹(dy) (rotation by −θ; pass-through dims copy).
// Bindings: positions u32 [T], turns vec2<u32> [Drot/2], x = dy [T, NH, D] (read), y = dx [T, NH, D] (written).
// Params lanes = D − Drot/2.
@compute @workgroup_size(WG)
fn rope_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  rope_out_of_place(wid, nwg, lid, -1.0);
}

// ---------------------------------------------------------------------------------------------------------------
// In place (pass-through dims are left untouched, so only Drot/2 lanes per token).
@group(0) @binding(3) var<storage, read_write> xy: array<f32>;

fn rope_in_place(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, sign: f32) {
  let l = lane_of(wid, nwg, lid);
  if (!l.ok) { return; }
  let D = params.head_dim;
  let half = params.half_rot;
  let base = l.token * params.heads * D;
  let cs = rope_cos_sin(positions[l.token], turns[l.lane]);
  let sn = sign * cs.y;
  for (var h = 0u; h < params.heads; h++) {
    let i = base + h * D + l.lane;
    let a = xy[i];
    let b = xy[i + half];
    xy[i] = a * cs.x - b * sn;
    xy[i + half] = b * cs.x + a * sn;
  }
}

// Forward, in place: xy = rope(xy).
// Bindings: positions u32 [T], turns vec2<u32> [Drot/2], xy [T, NH, D] (read and written).
// Params lanes = Drot/2. Saves nothing.
@compute @workgroup_size(WG)
fn rope_forward_inplace(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  rope_in_place(wid, nwg, lid, 1.0);
}

// Backward, in place: xy = rope⁻¹(xy) on the gradient.
// Bindings: positions u32 [T], turns vec2<u32> [Drot/2], xy = dy → dx [T, NH, D].
// Params lanes = Drot/2.
@compute @workgroup_size(WG)
fn rope_backward_inplace(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  rope_in_place(wid, nwg, lid, -1.0);
}
