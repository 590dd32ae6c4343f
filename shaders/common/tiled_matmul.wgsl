// Register-tiled matmul core of matmul.wgsl, matmul_dense.wgsl and matmul_quant.wgsl:
//   out[r, c] (+)= Σ_p A(r, p) · B(p, c)   (+ bias[c] in the forward entry points)
// Each workgroup computes a TILE_R × TILE_C block of `out` (TILE_R = 4·WG_Y, TILE_C = 4·WG_X); each invocation a
// 4×4 sub-block held in registers as 4 vec4 rows. Tiles of A and B, TILE_K deep, are staged in workgroup memory by
// the including shader's stage_tiles (which decodes B on the way when B is a stored weight).
// Dispatch: (ceil(cols / TILE_C), ceil(rows / TILE_R), 1). Accumulation: f32, one fma per p, in p order.
//
// Provides: tile_a, tile_b, set_a, set_b, tiled_product, add_bias, store_tile.
// Needs from the including shader:
//   override WG_X, WG_Y, TILE_K: u32
//   params: a uniform struct with u32 fields rows, cols, inner, accumulate, has_bias
//   out: array<f32> (read_write), bias: array<f32> (read; read only when params.has_bias == 1)
//   fn stage_tiles(fmt: u32, forward: bool, row0: u32, col0: u32, p0: u32, lid: u32): writes the whole tile,
//     A(row0 + r, p0 + p) with set_a(p, r, v) and B(p0 + p, col0 + c) with set_b(p, c, v), 0 outside the matrices
//     (fmt and forward are the entry point's, passed through unchanged; lid is the flat invocation index)
//   fn out_index(r: u32, c: u32) -> u32: the index of out[r, c];  fn bias_index(c: u32) -> u32: of bias[c]

var<workgroup> tile_a: array<vec4<f32>, TILE_K * WG_Y>; // [TILE_K][TILE_R / 4]
var<workgroup> tile_b: array<vec4<f32>, TILE_K * WG_X>; // [TILE_K][TILE_C / 4]

// A(row0 + r, p0 + p) for 0 ≤ r < TILE_R, 0 ≤ p < TILE_K.
fn set_a(p: u32, r: u32, v: f32) {
  tile_a[p * WG_Y + r / 4u][r % 4u] = v;
}

// B(p0 + p, col0 + c) for 0 ≤ p < TILE_K, 0 ≤ c < TILE_C.
fn set_b(p: u32, c: u32, v: f32) {
  tile_b[p * WG_X + c / 4u][c % 4u] = v;
}

// acc[i][j]: output row wid.y·TILE_R + lid.y·4 + i, column wid.x·TILE_C + lid.x·4 + j.
fn tiled_product(fmt: u32, forward: bool, wid: vec3<u32>, lid: vec3<u32>) -> array<vec4<f32>, 4> {
  let row0 = wid.y * WG_Y * 4u;
  let col0 = wid.x * WG_X * 4u;
  let flat = lid.y * WG_X + lid.x;
  var acc: array<vec4<f32>, 4>;
  for (var p0 = 0u; p0 < params.inner; p0 += TILE_K) {
    stage_tiles(fmt, forward, row0, col0, p0, flat);
    workgroupBarrier();
    for (var p = 0u; p < TILE_K; p++) {
      let ar = tile_a[p * WG_Y + lid.y];
      let br = tile_b[p * WG_X + lid.x];
      acc[0] = fma(vec4<f32>(ar.x), br, acc[0]);
      acc[1] = fma(vec4<f32>(ar.y), br, acc[1]);
      acc[2] = fma(vec4<f32>(ar.z), br, acc[2]);
      acc[3] = fma(vec4<f32>(ar.w), br, acc[3]);
    }
    workgroupBarrier();
  }
  return acc;
}

// acc + bias[bias_index(c)] on every column c of the block, when params.has_bias == 1.
fn add_bias(acc_in: array<vec4<f32>, 4>, wid: vec3<u32>, lid: vec3<u32>) -> array<vec4<f32>, 4> {
  var acc = acc_in;
  if (params.has_bias == 1u) {
    for (var j = 0u; j < 4u; j++) {
      let c = wid.x * WG_X * 4u + lid.x * 4u + j;
      if (c < params.cols) {
        let bc = bias[bias_index(c)];
        for (var i = 0u; i < 4u; i++) { acc[i][j] += bc; }
      }
    }
  }
  return acc;
}

// Writes (or, with params.accumulate == 1, adds) the block into out, skipping rows and columns past the edge.
fn store_tile(wid: vec3<u32>, lid: vec3<u32>, acc: array<vec4<f32>, 4>) {
  for (var i = 0u; i < 4u; i++) {
    let r = wid.y * WG_Y * 4u + lid.y * 4u + i;
    if (r >= params.rows) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let c = wid.x * WG_X * 4u + lid.x * 4u + j;
      if (c >= params.cols) { continue; }
      var v = acc[i][j];
      let o = out_index(r, c);
      if (params.accumulate == 1u) { v += out[o]; }
      out[o] = v;
    }
  }
}
