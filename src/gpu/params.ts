/**
 * Packs a uniform `Params` struct. Params structs hold only 4-byte scalars (u32, i32, f32) in declaration order,
 * so the WGSL layout is simply consecutive words, padded to 16 bytes.
 */
export type ParamType = 'u32' | 'i32' | 'f32';

export function packParams(fields: readonly (readonly [ParamType, number])[]): ArrayBuffer {
  const words = Math.max(4, Math.ceil(fields.length / 4) * 4);
  const buffer = new ArrayBuffer(words * 4);
  const view = new DataView(buffer);
  fields.forEach(([type, value], i) => {
    if (type === 'f32') view.setFloat32(i * 4, value, true);
    else if (type === 'i32') view.setInt32(i * 4, value, true);
    else {
      if (!Number.isInteger(value) || value < 0 || value > 0xffffffff)
        throw new RangeError(`u32 param #${i} out of range: ${value}`);
      view.setUint32(i * 4, value, true);
    }
  });
  return buffer;
}

/** Shorthand for a Params struct made only of u32 fields. */
export function u32Params(...values: number[]): ArrayBuffer {
  return packParams(values.map((v) => ['u32', v] as const));
}
