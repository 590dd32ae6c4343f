// Linear-layer matmuls with a dense base weight W [M, K] held as raw u32 words: f16 or bf16 packed two per u32
// (element 2i in the low 16 bits, 2i+1 in the high: the little-endian bytes of a safetensors F16 / BF16 tensor),
// or f32 (one per word; used for f32 weights too large for one binding, see src/kernels/linear.ts).
// Shapes: x [N, K], W [M, K] (nn.Linear layout: M outputs × K inputs), b [M], y [N, M]; dy [N, M], dx [N, K].
// N, K and M are free (an odd K puts a row boundary inside a word; element e of the chunk is half e % 2 of word e / 2).
//
// Register-tiled product of matmul.wgsl (out[r, c] = Σ_p A(r, p)·B(p, c); each invocation a 4×4 block, workgroup
// tile (4·WG_Y) × (4·WG_X), TILE_K deep, staged in workgroup memory). B is W, decoded to f32 while it is staged:
// f16 with unpack2x16float, bf16 as bitcast<f32>(bits << 16). No shader-f16 needed; no f32 copy of W exists.
//
// A weight too large for one binding is split into row chunks (one dispatch per chunk, a binding at an offset):
// a dispatch sees rows [0, m_count) of its chunk; a_offset / out_offset place the chunk in dy / y.
// Dispatch: (ceil(cols / (4·WG_X)), ceil(rows / (4·WG_Y)), 1). Accumulation: f32 (fma).

override WG_X: u32 = 16;
override WG_Y: u32 = 16;
override TILE_K: u32 = 16;
const TILE_R_PER_THREAD: u32 = 4u;
const TILE_C_PER_THREAD: u32 = 4u;

const FMT_F32: u32 = 0u;
const FMT_F16: u32 = 1u;
const FMT_BF16: u32 = 2u;

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

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> tile_a: array<f32, TILE_K * WG_Y * TILE_R_PER_THREAD>; // [TILE_K][TILE_R]
var<workgroup> tile_b: array<f32, TILE_K * WG_X * TILE_C_PER_THREAD>; // [TILE_K][TILE_C]

// Element e (= m·K + k within the chunk) of W as f32.
fn weight(fmt: u32, e: u32) -> f32 {
  if (fmt == FMT_F32) { return bitcast<f32>(w[e]); }
  let word = w[e >> 1u];
  if (fmt == FMT_F16) { return unpack2x16float(word)[e & 1u]; }
  return bitcast<f32>(select(word << 16u, word & 0xffff0000u, (e & 1u) == 1u));
}

// A tile: TILE_R rows × TILE_K reduction steps of A(r, p) = a[r·a_row + a_offset + p] (contiguous along p).
fn stage_a(row0: u32, p0: u32, lid: u32) {
  let tile_r = WG_Y * TILE_R_PER_THREAD;
  for (var idx = lid; idx < tile_r * TILE_K; idx += WG_X * WG_Y) {
    let r = idx / TILE_K;
    let p = idx % TILE_K;
    let gr = row0 + r;
    let gp = p0 + p;
    var v = 0.0;
    if (gr < params.rows && gp < params.inner) { v = a[gr * params.a_row + params.a_offset + gp]; }
    tile_a[p * tile_r + r] = v;
  }
}

// Stages W[m0 .. m0+nm, k0 .. k0+nk) decoded into tile_b, walking k (contiguous in memory) fastest. Element (m, k)
// goes to tile_b[(k-k0)·TILE_C + (m-m0)] when the reduction runs along k (forward), else tile_b[(m-m0)·TILE_C + (k-k0)].
fn stage_w(fmt: u32, m0: u32, k0: u32, nm: u32, nk: u32, reduce_k: bool, lid: u32) {
  let tile_c = WG_X * TILE_C_PER_THREAD;
  for (var idx = lid; idx < nm * nk; idx += WG_X * WG_Y) {
    let dm = idx / nk;
    let dk = idx % nk;
    let m = m0 + dm;
    let k = k0 + dk;
    var v = 0.0;
    if (m < params.m_count && k < params.k) { v = weight(fmt, m * params.k + k); }
    tile_b[select(dm * tile_c + dk, dk * tile_c + dm, reduce_k)] = v;
  }
}

fn tiled_product(fmt: u32, forward: bool, wid: vec3<u32>, lid: vec3<u32>) -> array<array<f32, 4>, 4> {
  let tile_r = WG_Y * TILE_R_PER_THREAD;
  let tile_c = WG_X * TILE_C_PER_THREAD;
  let row0 = wid.y * tile_r;
  let col0 = wid.x * tile_c;
  let flat = lid.y * WG_X + lid.x;
  var acc: array<array<f32, 4>, 4>;
  var ar: array<f32, 4>;
  var br: array<f32, 4>;
  for (var p0 = 0u; p0 < params.inner; p0 += TILE_K) {
    stage_a(row0, p0, flat);
    if (forward) {
      stage_w(fmt, col0, p0, tile_c, TILE_K, true, flat);  // B(p = k, c = m) = W[m, k]
    } else {
      stage_w(fmt, p0, col0, TILE_K, tile_c, false, flat); // B(p = m, c = k) = W[m, k]
    }
    workgroupBarrier();
    for (var p = 0u; p < TILE_K; p++) {
      for (var i = 0u; i < 4u; i++) { ar[i] = tile_a[p * tile_r + lid.y * 4u + i]; }
      for (var j = 0u; j < 4u; j++) { br[j] = tile_b[p * tile_c + lid.x * 4u + j]; }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] = fma(ar[i], br[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }
  return acc;
}

fn store(wid: vec3<u32>, lid: vec3<u32>, acc: array<array<f32, 4>, 4>) {
  for (var i = 0u; i < 4u; i++) {
    let r = wid.y * WG_Y * 4u + lid.y * 4u + i;
    if (r >= params.rows) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let c = wid.x * WG_X * 4u + lid.x * 4u + j;
      if (c >= params.cols) { continue; }
      var v = acc[i][j];
      let o = r * params.out_stride + params.out_offset + c;
      if (params.accumulate == 1u) { v += out[o]; }
      out[o] = v;
    }
  }
}

// Forward bias: binding 4, read only by the forward entry points.
@group(0) @binding(4) var<storage, read> bias: array<f32>;

fn forward(fmt: u32, wid: vec3<u32>, lid: vec3<u32>) {
  var acc = tiled_product(fmt, true, wid, lid);
  if (params.has_bias == 1u) {
    for (var j = 0u; j < 4u; j++) {
      let c = wid.x * WG_X * 4u + lid.x * 4u + j;
      if (c < params.cols) {
        let bc = bias[params.out_offset + c];
        for (var i = 0u; i < 4u; i++) { acc[i][j] += bc; }
      }
    }
  }
  store(wid, lid, acc);
}

// Forward, f16 weight: y[N, M] = x[N, K] · W[M, K]ᵀ + b[M].
// Bindings: a = x [N, K], w = W [M, K] f16 pairs (ceil(M·K/2) u32), out = y [N, M], bias [M] (any 4-byte buffer
// when has_bias = 0). Params: rows N, cols m_count, inner K, a_row K, a_offset 0, out_stride M, out_offset = first
// row of the chunk. Saves nothing (backward_input needs only W). f32 accumulation.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_f16_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  forward(FMT_F16, wid, lid);
}

// Input gradient, f16 weight: dx[N, K] (+)= dy[N, M] · W[M, K].
// Bindings: a = dy [N, M], w = W (as forward), out = dx [N, K]. Params: rows N, cols K, inner m_count, a_row M,
// a_offset = first row of the chunk, out_stride K, out_offset 0; accumulate adds into dx (the wrapper sets it for
// every chunk after the first). f32 accumulation.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_f16_backward_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  store(wid, lid, tiled_product(FMT_F16, false, wid, lid));
}

// Forward, bf16 weight: y[N, M] = x[N, K] · W[M, K]ᵀ + b[M]. Bindings, Params, dispatch as matmul_f16_forward.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_bf16_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  forward(FMT_BF16, wid, lid);
}

// Input gradient, bf16 weight: dx[N, K] (+)= dy[N, M] · W[M, K]. As matmul_f16_backward_input.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_bf16_backward_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  store(wid, lid, tiled_product(FMT_BF16, false, wid, lid));
}

// Forward, f32 weight in row chunks: y[N, M] = x[N, K] · W[M, K]ᵀ + b[M]; w = W [M, K] f32 bits.
// Bindings, Params, dispatch as matmul_f16_forward (the unsplit f32 case runs matmul.wgsl).
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_f32_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  forward(FMT_F32, wid, lid);
}

// Input gradient, f32 weight in row chunks: dx[N, K] (+)= dy[N, M] · W[M, K]. As matmul_f16_backward_input.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_f32_backward_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  store(wid, lid, tiled_product(FMT_F32, false, wid, lid));
}
