/**
 * WGSL sources and their one allowed variation: the element type alias.
 * A shader that supports f16 storage declares exactly one line `alias dtype = f32;`.
 * Asking for f16 swaps that line (and enables the extension) only when the device has `shader-f16`;
 * there is no other string templating of shaders.
 */
import { GpuError } from './errors.ts';

export interface ShaderSource {
  /** Short name used in pipeline keys and labels, e.g. "matmul". */
  name: string;
  code: string;
}

export type ShaderDtype = 'f32' | 'f16';

const ALIAS_LINE = /^alias dtype = f32;[ \t]*$/gm;

export function defineShader(name: string, code: string): ShaderSource {
  return { name, code };
}

/** Returns the WGSL for `dtype`, checking that the alias line exists exactly once when a swap is needed. */
export function specializeDtype(source: ShaderSource, dtype: ShaderDtype, hasF16: boolean): string {
  if (dtype === 'f32') return source.code;
  if (!hasF16) {
    throw new GpuError(
      'validation',
      `Shader "${source.name}" was asked for f16 but this GPU has no shader-f16 support.`,
      'Use the f32 path (the engine picks it automatically when the feature is missing).',
    );
  }
  const matches = source.code.match(ALIAS_LINE) ?? [];
  if (matches.length !== 1) {
    throw new Error(
      `Shader "${source.name}" must declare exactly one line "alias dtype = f32;" to be specialized for f16; found ${matches.length}.`,
    );
  }
  return `enable f16;\n${source.code.replace(ALIAS_LINE, 'alias dtype = f16;')}`;
}
