/**
 * llama.cpp's q/k row permutation, for the families whose src/arch/<id>.ts says `ggufPermutesQk` (llama, mistral:
 * look it up with `ggufArchitecture` of src/arch/registry.ts). The converter interleaves the two rotary halves of
 * every head (HF rotate-half RoPE → GGML's adjacent-pair RoPE) on the ROWS of q_proj (with n_heads) and k_proj (with
 * n_kv_heads), and on lora_B rows of a LoRA GGUF:
 *   new row h·d + 2i + j = old row h·d + j·(d/2) + i      (d = rows / heads, i < d/2, j ∈ {0, 1})
 * Rows are moved whole, so the same code permutes f32 rows or rows of quantized blocks (`rowBytes` each).
 */
/** Source row (HF order) of permuted row r. */
export function permutedSourceRow(r: number, rows: number, heads: number): number {
  const d = rows / heads;
  const h = Math.floor(r / d);
  const within = r - h * d;
  const i = within >> 1;
  const j = within & 1;
  return h * d + j * (d / 2) + i;
}

function checkShape(rows: number, heads: number): void {
  if (!Number.isInteger(heads) || heads <= 0 || rows % heads !== 0 || (rows / heads) % 2 !== 0) {
    throw new Error(`cannot permute ${rows} rows over ${heads} heads: rows per head must be an even integer`);
  }
}

function moveRows<T extends Uint8Array | Float32Array>(
  src: T,
  rows: number,
  rowLength: number,
  heads: number,
  inverse: boolean,
): T {
  checkShape(rows, heads);
  if (src.length !== rows * rowLength)
    throw new Error(`expected ${rows} rows of ${rowLength}, got ${src.length} elements`);
  const out = new (src.constructor as { new (n: number): T })(src.length);
  for (let r = 0; r < rows; r++) {
    const s = permutedSourceRow(r, rows, heads);
    // forward: out[r] = src[s]; inverse: out[s] = src[r]
    const [to, from] = inverse ? [s, r] : [r, s];
    out.set(src.subarray(from * rowLength, (from + 1) * rowLength), to * rowLength);
  }
  return out;
}

/** HF → GGUF order (what llama.cpp's converter does) for a row-major [rows, rowLength] f32 tensor (bias: rowLength 1). */
export function permuteQkRows(values: Float32Array, rows: number, heads: number): Float32Array {
  return moveRows(values, rows, values.length / rows, heads, false);
}

/** GGUF → HF order: undoes `permuteQkRows`. */
export function unpermuteQkRows(values: Float32Array, rows: number, heads: number): Float32Array {
  return moveRows(values, rows, values.length / rows, heads, true);
}

/** The same on raw rows of `rowBytes` bytes (quantized blocks stay quantized). */
export function permuteQkRowBytes(bytes: Uint8Array, rows: number, heads: number, inverse: boolean): Uint8Array {
  return moveRows(bytes, rows, bytes.length / rows, heads, inverse);
}
