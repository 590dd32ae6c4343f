// Dense f32 matmuls of a linear layer: y = x·Wᵀ (+ b), and its gradients.
// Shapes: x [N, K] (N rows, K input features), W [M, K] (nn.Linear layout: M outputs × K inputs), b [M], y [N, M].
//
// All three entry points share one register-tiled kernel over a generic product
//   out[r, c] (+)= Σ_p A(r, p) · B(p, c),   A(r, p) = a[r·a_row + p·a_inner],   B(p, c) = b[p·b_inner + c·b_col]
// whose strides (in Params) select the layout. Each workgroup computes a TILE_R × TILE_C block of `out`
// (TILE_R = 4·WG_Y, TILE_C = 4·WG_X); each invocation a 4×4 sub-block held in registers. Tiles of A and B,
// TILE_K deep, are staged in workgroup memory with loads that run along whichever axis is contiguous.
// Dispatch: (ceil(cols / TILE_C), ceil(rows / TILE_R), 1). Accumulation: f32.

override WG_X: u32 = 16;
override WG_Y: u32 = 16;
override TILE_K: u32 = 16;
// Which axis of A / B is contiguous in memory; fixed per entry point by the wrapper so tile loads coalesce.
override A_INNER_CONTIGUOUS: bool = true;
override B_INNER_CONTIGUOUS: bool = true;

struct Params {
  rows: u32,     // output rows
  cols: u32,     // output columns
  inner: u32,    // length of the reduction
  a_row: u32,    // stride of A between output rows
  a_inner: u32,  // stride of A along the reduction
  b_inner: u32,  // stride of B along the reduction
  b_col: u32,    // stride of B between output columns
  accumulate: u32, // 1: out += result (gradient accumulation), 0: out = result
  has_bias: u32,   // forward only: 1 adds bias[c]
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override TILE_R: u32 = WG_Y * 4u;
override TILE_C: u32 = WG_X * 4u;
var<workgroup> tile_a: array<vec4<f32>, TILE_K * WG_Y>; // [TILE_K][TILE_R / 4]
var<workgroup> tile_b: array<vec4<f32>, TILE_K * WG_X>; // [TILE_K][TILE_C / 4]

fn load_tiles(row0: u32, col0: u32, p0: u32, lid: u32) {
  let threads = WG_X * WG_Y;
  // A tile: TILE_R rows × TILE_K reduction steps, walking the contiguous axis fastest (A_INNER_CONTIGUOUS).
  for (var idx = lid; idx < TILE_R * TILE_K; idx += threads) {
    var r: u32; var p: u32;
    if (A_INNER_CONTIGUOUS) { r = idx / TILE_K; p = idx % TILE_K; } else { p = idx / TILE_R; r = idx % TILE_R; }
    let gr = row0 + r; let gp = p0 + p;
    var v = 0.0;
    if (gr < params.rows && gp < params.inner) { v = a[gr * params.a_row + gp * params.a_inner]; }
    tile_a[p * (TILE_R / 4u) + r / 4u][r % 4u] = v;
  }
  // B tile: TILE_K reduction steps × TILE_C columns.
  for (var idx = lid; idx < TILE_C * TILE_K; idx += threads) {
    var c: u32; var p: u32;
    if (B_INNER_CONTIGUOUS) { c = idx / TILE_K; p = idx % TILE_K; } else { p = idx / TILE_C; c = idx % TILE_C; }
    let gc = col0 + c; let gp = p0 + p;
    var v = 0.0;
    if (gc < params.cols && gp < params.inner) { v = b[gp * params.b_inner + gc * params.b_col]; }
    tile_b[p * (TILE_C / 4u) + c / 4u][c % 4u] = v;
  }
}

fn tiled_product(wid: vec3<u32>, lid: vec3<u32>) -> array<vec4<f32>, 4> {
  let row0 = wid.y * TILE_R;
  let col0 = wid.x * TILE_C;
  let flat = lid.y * WG_X + lid.x;
  var acc: array<vec4<f32>, 4>; // acc[i][j]: row lid.y·4 + i, column lid.x·4 + j
  for (var p0 = 0u; p0 < params.inner; p0 += TILE_K) {
    load_tiles(row0, col0, p0, flat);
    workgroupBarrier();
    for (var p = 0u; p < TILE_K; p++) {
      let ar = tile_a[p * (TILE_R / 4u) + lid.y];
      let br = tile_b[p * (TILE_C / 4u) + lid.x];
      acc[0] = fma(vec4<f32>(ar.x), br, acc[0]);
      acc[1] = fma(vec4<f32>(ar.y), br, acc[1]);
      acc[2] = fma(vec4<f32>(ar.z), br, acc[2]);
      acc[3] = fma(vec4<f32>(ar.w), br, acc[3]);
    }
    workgroupBarrier();
  }
  return acc;
}

fn store(wid: vec3<u32>, lid: vec3<u32>, acc: array<vec4<f32>, 4>) {
  for (var i = 0u; i < 4u; i++) {
    let r = wid.y * TILE_R + lid.y * 4u + i;
    if (r >= params.rows) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let c = wid.x * TILE_C + lid.x * 4u + j;
      if (c >= params.cols) { continue; }
      var v = acc[i][j];
      let o = r * params.cols + c;
      if (params.accumulate == 1u) { v += out[o]; }
      out[o] = v;
    }
  }
}

// Forward: y[N, M] = x[N, K] · W[M, K]ᵀ + b[M].
// Bindings: a = x [N, K], b = W [M, K], out = y [N, M], bias = b [M] (has_bias 0: any 4-byte buffer).
// Params: rows N, cols M, inner K, a_row K, a_inner 1, b_inner 1, b_col K. Saves nothing (backward needs x).
@group(0) @binding(4) var<storage, read> bias: array<f32>;

@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  var acc = tiled_product(wid, lid);
  if (params.has_bias == 1u) {
    for (var j = 0u; j < 4u; j++) {
      let c = wid.x * TILE_C + lid.x * 4u + j;
      if (c < params.cols) {
        let bc = bias[c];
        for (var i = 0u; i < 4u; i++) { acc[i][j] += bc; }
      }
    }
  }
  store(wid, lid, acc);
}

// Input gradient: dx[N, K] = dy[N, M] · W[M, K].
// Bindings: a = dy [N, M], b = W [M, K], out = dx [N, K].
// Params: rows N, cols K, inner M, a_row M, a_inner 1, b_inner K, b_col 1; accumulate adds into dx (residual paths).
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_backward_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let acc = tiled_product(wid, lid);
  store(wid, lid, acc);
}

// Weight gradient: dW[M, K] (+)= dy[N, M]ᵀ · x[N, K].
// Bindings: a = dy [N, M], b = x [N, K], out = dW [M, K].
// Params: rows M, cols K, inner N, a_row 1, a_inner M, b_inner K, b_col 1; accumulate for gradient accumulation.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_backward_weight(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let acc = tiled_product(wid, lid);
  store(wid, lid, acc);
}
