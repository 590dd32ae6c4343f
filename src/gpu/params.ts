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

/** A Params struct's fields in WGSL declaration order: `{ rows: 'u32', eps: 'f32', … }` (object key order). */
export type ParamsFields = Readonly<Record<string, ParamType>>;

/** One shader's Params struct: its fields, and a packer that takes every field by name. */
export interface ParamsLayout<F extends ParamsFields = ParamsFields> {
  readonly fields: readonly (readonly [name: string, type: ParamType])[];
  /** Every field, by name; a missing or unknown name throws (and fails to type-check). */
  pack(values: { readonly [K in keyof F]: number }): ArrayBuffer;
}

export function paramsLayout<F extends ParamsFields>(fields: F): ParamsLayout<F> {
  const entries = Object.entries(fields) as [string, ParamType][];
  const names = new Set(entries.map(([n]) => n));
  return {
    fields: entries,
    pack(values) {
      const given = values as Readonly<Record<string, number>>;
      for (const key of Object.keys(given))
        if (!names.has(key)) throw new RangeError(`Params has no field "${key}" (fields: ${[...names].join(', ')})`);
      return packParams(
        entries.map(([name, type]) => {
          const v = given[name];
          if (typeof v !== 'number') throw new RangeError(`Params field "${name}" is missing`);
          if (type === 'u32' && (!Number.isInteger(v) || v < 0 || v > 0xffffffff))
            throw new RangeError(`u32 Params field "${name}" out of range: ${v}`);
          return [type, v] as const;
        }),
      );
    },
  };
}
