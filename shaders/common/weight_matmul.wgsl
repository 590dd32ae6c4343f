// The part of a linear-layer matmul with a stored base weight W [M, K] that does not depend on W's format, shared
// by matmul_dense.wgsl and matmul_quant.wgsl (include it after common/tiled_matmul.wgsl, whose stage_tiles,
// out_index and bias_index it defines):
//   forward          y[N, M]  = x[N, K] · W[M, K]ᵀ (+ b[M]):   A = x, B(p = k, c = m) = W[m, k]
//   backward_input   dx[N, K] (+)= dy[N, M] · W[M, K]:         A = dy, B(p = m, c = k) = W[m, k]
// A weight too large for one binding is split into row chunks (one dispatch per chunk, bindings at offsets):
// a dispatch sees rows [0, m_count) of its chunk; a_offset / out_offset place the chunk in dy / y.
// Params is the layout src/kernels/weight-chunks.ts packs.
//
// Provides: struct Params, out_index, bias_index, stage_a, put_w, stage_tiles, forward(fmt, wid, lid).
// Needs from the including shader:
//   @binding(0) var<uniform> params: Params; a: array<f32> (x or dy); out: array<f32>; bias: array<f32>
//   fn stage_w(fmt: u32, m0: u32, k0: u32, nm: u32, nk: u32, reduce_k: bool, lid: u32): decodes
//     W[m0 .. m0+nm, k0 .. k0+nk) of the chunk, each element with put_w(reduce_k, m - m0, k - k0, value)
//     (0 outside the chunk: m ≥ m_count or k ≥ k)

struct Params {
  rows: u32,       // output rows (N)
  cols: u32,       // output columns: forward m_count, backward K
  inner: u32,      // reduction length: forward K, backward m_count
  k: u32,          // K, the row length of W
  m_count: u32,    // rows of W in this chunk
  a_row: u32,      // row stride of A: forward K (x), backward M (dy)
  a_offset: u32,   // column offset into A: backward, the chunk's first row of W
  out_stride: u32, // row stride of out: forward M (y), backward K (dx)
  out_offset: u32, // column offset into out (and bias): forward, the chunk's first row of W
  accumulate: u32, // 1: out += result, 0: out = result
  has_bias: u32,   // forward only: 1 adds bias[out_offset + c]
}

fn out_index(r: u32, c: u32) -> u32 { return r * params.out_stride + params.out_offset + c; }
fn bias_index(c: u32) -> u32 { return params.out_offset + c; }

// A tile: TILE_R rows × TILE_K reduction steps of A(r, p) = a[r·a_row + a_offset + p] (contiguous along p).
fn stage_a(row0: u32, p0: u32, lid: u32) {
  let tile_r = WG_Y * 4u;
  for (var idx = lid; idx < tile_r * TILE_K; idx += WG_X * WG_Y) {
    let r = idx / TILE_K;
    let p = idx % TILE_K;
    let gr = row0 + r;
    let gp = p0 + p;
    var v = 0.0;
    if (gr < params.rows && gp < params.inner) { v = a[gr * params.a_row + params.a_offset + gp]; }
    set_a(p, r, v);
  }
}

// Element (m0 + dm, k0 + dk) of W: B(p = dk, c = dm) when the reduction runs along k (forward), else B(dm, dk).
fn put_w(reduce_k: bool, dm: u32, dk: u32, v: f32) {
  if (reduce_k) { set_b(dk, dm, v); } else { set_b(dm, dk, v); }
}

fn stage_tiles(fmt: u32, forward: bool, row0: u32, col0: u32, p0: u32, lid: u32) {
  stage_a(row0, p0, lid);
  if (forward) {
    stage_w(fmt, col0, p0, WG_X * 4u, TILE_K, true, lid);  // B(p = k, c = m) = W[m, k]
  } else {
    stage_w(fmt, p0, col0, TILE_K, WG_X * 4u, false, lid); // B(p = m, c = k) = W[m, k]
  }
}

fn forward(fmt: u32, wid: vec3<u32>, lid: vec3<u32>) {
  store_tile(wid, lid, add_bias(tiled_product(fmt, true, wid, lid), wid, lid));
}
