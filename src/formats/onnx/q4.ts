/**
 * 4-bit block quantization for onnxruntime's com.microsoft MatMulNBits (bits 4), asymmetric with zero points, as
 * onnxruntime's own MatMul 4-bit quantizer writes it. For a weight W [N, K] (one row per output) and block size Q:
 *   k_blocks = ⌈K / Q⌉; per row n and block b over W[n, bQ .. bQ+Q) (zero-padded past K):
 *     lo = min(0, min w), hi = max(0, max w), scale = (hi − lo) / 15 (1 when hi = lo = 0),
 *     zp = clamp(round(−lo / scale), 0, 15), code = clamp(round(w / scale) + zp, 0, 15);   w ≈ (code − zp) · scale
 *   codes [N, k_blocks, Q/2] uint8: element 2j in the low nibble of byte j, 2j+1 in the high nibble;
 *   scales [N · k_blocks] (row-major n, b); zero_points [N · ⌈k_blocks/2⌉] uint8, block 2i low nibble, 2i+1 high.
 */

export interface Q4Blocks {
  codes: Uint8Array;
  scales: Float32Array;
  zeros: Uint8Array;
}

export function quantizeQ4(W: Float32Array, N: number, K: number, blockSize = 32): Q4Blocks {
  if (W.length !== N * K) throw new Error(`quantizeQ4: ${W.length} values are not [${N}, ${K}]`);
  if (blockSize < 16 || (blockSize & (blockSize - 1)) !== 0)
    throw new Error(`quantizeQ4: block size ${blockSize} must be a power of two ≥ 16`);
  const blocks = Math.ceil(K / blockSize);
  const zpRow = Math.ceil(blocks / 2);
  const codes = new Uint8Array(N * blocks * (blockSize / 2));
  const scales = new Float32Array(N * blocks);
  const zeros = new Uint8Array(N * zpRow);
  for (let n = 0; n < N; n++) {
    const row = n * K;
    for (let b = 0; b < blocks; b++) {
      const k0 = b * blockSize;
      const k1 = Math.min(K, k0 + blockSize);
      let lo = 0;
      let hi = 0;
      for (let k = k0; k < k1; k++) {
        const v = W[row + k]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const scale = hi > lo ? Math.fround((hi - lo) / 15) : 1;
      const zp = Math.min(15, Math.max(0, Math.round(-lo / scale)));
      scales[n * blocks + b] = scale;
      zeros[n * zpRow + (b >> 1)]! |= b & 1 ? zp << 4 : zp;
      const out = (n * blocks + b) * (blockSize / 2);
      for (let j = 0; j < blockSize; j++) {
        const k = k0 + j;
        const v = k < K ? W[row + k]! : 0;
        const c = Math.min(15, Math.max(0, Math.round(v / scale) + zp));
        codes[out + (j >> 1)]! |= j & 1 ? c << 4 : c;
      }
    }
  }
  return { codes, scales, zeros };
}

/** The values MatMulNBits computes with: (code − zp) · scale, [N, K]. */
export function dequantizeQ4(q: Q4Blocks, N: number, K: number, blockSize = 32): Float32Array {
  const blocks = Math.ceil(K / blockSize);
  const zpRow = Math.ceil(blocks / 2);
  const out = new Float32Array(N * K);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++) {
      const b = Math.floor(k / blockSize);
      const j = k % blockSize;
      const byte = q.codes[(n * blocks + b) * (blockSize / 2) + (j >> 1)]!;
      const code = j & 1 ? byte >> 4 : byte & 15;
      const zb = q.zeros[n * zpRow + (b >> 1)]!;
      const zp = b & 1 ? zb >> 4 : zb & 15;
      out[n * K + k] = (code - zp) * q.scales[n * blocks + b]!;
    }
  return out;
}
