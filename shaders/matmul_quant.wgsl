// Linear-layer matmuls with a block-quantized base weight W [M, K]: GGUF Q8_0, GGUF Q4_0 and bitsandbytes NF4.
// Shapes: x [N, K], W [M, K] (nn.Linear layout: M outputs × K inputs), b [M], y [N, M]; dy [N, M], dx [N, K].
// Rows of W hold whole blocks: K % 32 == 0 (Q8_0, Q4_0), K % 64 == 0 (NF4); N and M are free.
//
// GPU layout of W (src/kernels/weights.ts; src/formats/quant-blocks.ts builds it from raw GGUF bytes): GGUF's and
// bitsandbytes' own bytes with the scales moved to an array of their own, so every u32 of quants is aligned.
//   scales  Q8_0, Q4_0: f16 d per 32-block, row-major [M, K/32], two per u32 (even block in the low half).
//           NF4:        f32 absmax per 64-block, row-major [M, K/64].
//   quants  Q8_0: 32 int8 per block, element j in byte j                                    -> value q·d
//           Q4_0: 16 bytes per block, byte j = element j (low nibble) | element j+16 (high)  -> value (q - 8)·d
//           NF4:  32 bytes per block, byte j = element 2j (HIGH nibble) | element 2j+1 (low) -> value NF4[q]·absmax
//
// Register-tiled product of matmul.wgsl (out[r, c] = Σ_p A(r, p)·B(p, c); each invocation a 4×4 block, workgroup
// tile (4·WG_Y) × (4·WG_X), TILE_K deep, staged in workgroup memory). B is W: while a W tile is staged, each
// invocation loads one u32 of quants holding 4 consecutive values of a row, and their block scale, and writes the
// dequantized values to workgroup memory, so W is never dequantized anywhere else.
//
// A weight too large for one binding is split into row chunks (one dispatch per chunk, bindings at offsets):
// a dispatch sees rows [0, m_count) of its chunk; a_offset / out_offset place the chunk in dy / y.
// Dispatch: (ceil(cols / (4·WG_X)), ceil(rows / (4·WG_Y)), 1). Accumulation: f32 (fma).

override WG_X: u32 = 16;
override WG_Y: u32 = 16;
override TILE_K: u32 = 16; // a multiple of 4 (the wrapper checks): W is staged in groups of 4 values along K
const TILE_R_PER_THREAD: u32 = 4u;
const TILE_C_PER_THREAD: u32 = 4u;

const FMT_Q8_0: u32 = 0u;
const FMT_Q4_0: u32 = 1u;
const FMT_NF4: u32 = 2u;

// bitsandbytes' NF4 code book (FORMATS.md), indexed by the 4-bit code.
const NF4_CODE = array<f32, 16>(
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
  -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
  0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
);

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
@group(0) @binding(2) var<storage, read> scales: array<u32>;
@group(0) @binding(3) var<storage, read> quants: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> tile_a: array<f32, TILE_K * WG_Y * TILE_R_PER_THREAD>; // [TILE_K][TILE_R]
var<workgroup> tile_b: array<f32, TILE_K * WG_X * TILE_C_PER_THREAD>; // [TILE_K][TILE_C]

// Exact f16 → f32 from the 16 low bits of h (integer decode, so f16 subnormal scales survive flush-to-zero hardware).
fn f16_bits_to_f32(h: u32) -> f32 {
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  var v: f32;
  if (e == 0u) {
    v = f32(m) * 5.9604644775390625e-8; // m · 2^-24, exact
  } else if (e == 31u) {
    v = bitcast<f32>(0x7f800000u | (m << 13u));
  } else {
    v = bitcast<f32>(((e + 112u) << 23u) | (m << 13u));
  }
  return select(v, -v, (h & 0x8000u) != 0u);
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

// Stages W[m0 .. m0+nm, k0 .. k0+nk) dequantized into tile_b, in groups of 4 consecutive values along k (k0 and nk
// are multiples of 4): one u32 load of quants and one scale per group. Element (m, k) goes to
// tile_b[(k-k0)·TILE_C + (m-m0)] when the reduction runs along k (forward), else tile_b[(m-m0)·TILE_C + (k-k0)]
// (backward_input). Consecutive invocations take consecutive groups of a row (coalesced loads).
fn stage_w(fmt: u32, m0: u32, k0: u32, nm: u32, nk: u32, reduce_k: bool, lid: u32) {
  let tile_c = WG_X * TILE_C_PER_THREAD;
  let groups_per_patch_row = nk / 4u;
  let groups_per_row = params.k / 4u;
  for (var idx = lid; idx < nm * groups_per_patch_row; idx += WG_X * WG_Y) {
    let dm = idx / groups_per_patch_row;
    let g = idx % groups_per_patch_row;
    let m = m0 + dm;
    let kg = k0 / 4u + g; // group within the row of W: values 4·kg .. 4·kg + 3
    // Value k0 + 4g + i of row m0 + dm goes to tile_b[t0 + i·t_step].
    let t_step = select(1u, tile_c, reduce_k);
    let t0 = select(dm * tile_c, dm, reduce_k) + 4u * g * t_step;
    // Outside W (ragged M in the tile, or k past the end of the row) the quants and the scale read as 0.
    var q = 0u; // the group's 4 values in the low nibbles / bytes of q (see each format)
    var s = 0u; // raw scale bits
    if (m < params.m_count && kg < groups_per_row) {
      if (fmt == FMT_Q8_0) {
        q = quants[m * (params.k / 4u) + kg]; // bytes i = int8 value i
        let b = m * (params.k / 32u) + kg / 8u;
        s = (scales[b >> 1u] >> ((b & 1u) * 16u)) & 0xffffu;
      } else if (fmt == FMT_Q4_0) {
        // Position of the group in its block: 0, 4, .., 28. Bytes j .. j+3 (j = pos % 16) hold it, in their low
        // nibbles for pos < 16 and their high nibbles after; shift so nibble i sits at bits 8i .. 8i+3.
        let pos = (kg % 8u) * 4u;
        q = quants[m * (params.k / 8u) + (kg / 8u) * 4u + (pos % 16u) / 4u] >> select(0u, 4u, pos >= 16u);
        let b = m * (params.k / 32u) + kg / 8u;
        s = (scales[b >> 1u] >> ((b & 1u) * 16u)) & 0xffffu;
      } else {
        // Two bytes hold the group: byte i has value 2i in its high nibble and 2i+1 in its low nibble.
        q = quants[m * (params.k / 8u) + kg / 2u] >> ((kg & 1u) * 16u);
        s = scales[m * (params.k / 64u) + kg / 16u];
      }
    }
    if (fmt == FMT_Q8_0) {
      let d = f16_bits_to_f32(s);
      for (var i = 0u; i < 4u; i++) {
        tile_b[t0 + i * t_step] = f32(bitcast<i32>(q << (24u - 8u * i)) >> 24u) * d; // sign-extended byte i
      }
    } else if (fmt == FMT_Q4_0) {
      let d = f16_bits_to_f32(s);
      for (var i = 0u; i < 4u; i++) {
        tile_b[t0 + i * t_step] = (f32((q >> (8u * i)) & 0xfu) - 8.0) * d;
      }
    } else {
      let absmax = bitcast<f32>(s);
      for (var i = 0u; i < 2u; i++) {
        tile_b[t0 + 2u * i * t_step] = NF4_CODE[(q >> (8u * i + 4u)) & 0xfu] * absmax;
        tile_b[t0 + (2u * i + 1u) * t_step] = NF4_CODE[(q >> (8u * i)) & 0xfu] * absmax;
      }
    }
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

// Forward bias: binding 5, read only by the forward entry points.
@group(0) @binding(5) var<storage, read> bias: array<f32>;

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

// Forward, Q8_0 weight: y[N, M] = x[N, K] · dequant(W)[M, K]ᵀ + b[M].
// Bindings: a = x [N, K], scales [M, K/32] f16 pairs, quants [M, K/4] u32, out = y [N, M], bias [M] (any 4-byte
// buffer when has_bias = 0). Params: rows N, cols m_count, inner K, a_row K, a_offset 0, out_stride M,
// out_offset = first row of the chunk. Saves nothing (backward_input needs only W). f32 accumulation.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_q8_0_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  forward(FMT_Q8_0, wid, lid);
}

// Input gradient, Q8_0 weight: dx[N, K] (+)= dy[N, M] · dequant(W)[M, K].
// Bindings: a = dy [N, M], scales, quants (as forward), out = dx [N, K]. Params: rows N, cols K, inner m_count,
// a_row M, a_offset = first row of the chunk, out_stride K, out_offset 0; accumulate adds into dx (the wrapper
// sets it for every chunk after the first). f32 accumulation.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_q8_0_backward_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  store(wid, lid, tiled_product(FMT_Q8_0, false, wid, lid));
}

// Forward, Q4_0 weight: y[N, M] = x[N, K] · dequant(W)[M, K]ᵀ + b[M].
// Bindings: a = x [N, K], scales [M, K/32] f16 pairs, quants [M, K/8] u32, out = y [N, M], bias [M].
// Params, dispatch and precision as matmul_q8_0_forward.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_q4_0_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  forward(FMT_Q4_0, wid, lid);
}

// Input gradient, Q4_0 weight: dx[N, K] (+)= dy[N, M] · dequant(W)[M, K].
// Bindings: a = dy [N, M], scales, quants (as forward), out = dx [N, K]. Params as matmul_q8_0_backward_input.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_q4_0_backward_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  store(wid, lid, tiled_product(FMT_Q4_0, false, wid, lid));
}

// Forward, NF4 weight: y[N, M] = x[N, K] · dequant(W)[M, K]ᵀ + b[M].
// Bindings: a = x [N, K], scales = absmax [M, K/64] f32 (as u32 bits), quants [M, K/8] u32, out = y [N, M], bias [M].
// Params, dispatch and precision as matmul_q8_0_forward.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_nf4_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  forward(FMT_NF4, wid, lid);
}

// Input gradient, NF4 weight: dx[N, K] (+)= dy[N, M] · dequant(W)[M, K].
// Bindings: a = dy [N, M], scales, quants (as forward), out = dx [N, K]. Params as matmul_q8_0_backward_input.
@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_nf4_backward_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  store(wid, lid, tiled_product(FMT_NF4, false, wid, lid));
}
