/**
 * WGSL sources: how a shader file is joined with the shared pieces, and its Params layout.
 * Nothing else ever rewrites shader text (no string templating).
 *
 * Includes. A line of exactly `#include "common/<piece>.wgsl"` is replaced by that piece of shaders/common/ (the
 * table PIECES below). The marker must be present for every piece a shader uses: a piece is never added behind a
 * shader's back. Checked when the shader is defined (at import): the name must be in PIECES, each piece at most
 * once per shader, pieces hold no markers themselves, and any other line starting with `#` is an error (so a
 * mistyped marker fails instead of reaching the WGSL compiler). Each piece's header says what it provides and
 * what the including shader must declare for it (overrides, `params` fields, bindings, functions).
 *
 * Params. `defineShader(name, code, { field: 'u32', … })` declares the uniform `struct Params` field by field in
 * WGSL order; wrappers pack it by name with `SHADER.params.pack({...})`. test/unit/gpu/params-layout.test.ts parses
 * every `struct Params` under shaders/ and fails when a wrapper's layout differs from it (names, order, types).
 */
import halfPiece from '../../shaders/common/half.wgsl';
import kquantPiece from '../../shaders/common/kquant.wgsl';
import nf4Piece from '../../shaders/common/nf4.wgsl';
import tiledMatmulPiece from '../../shaders/common/tiled_matmul.wgsl';
import weightMatmulPiece from '../../shaders/common/weight_matmul.wgsl';
import workgroupSumPiece from '../../shaders/common/workgroup_sum.wgsl';
import { type ParamsFields, type ParamsLayout, paramsLayout } from './params.ts';

/** The shared WGSL pieces a shader may `#include`, by the path it names them with. */
const PIECES: Readonly<Record<string, string>> = {
  'common/half.wgsl': halfPiece,
  'common/kquant.wgsl': kquantPiece,
  'common/nf4.wgsl': nf4Piece,
  'common/tiled_matmul.wgsl': tiledMatmulPiece,
  'common/weight_matmul.wgsl': weightMatmulPiece,
  'common/workgroup_sum.wgsl': workgroupSumPiece,
};

export interface ShaderSource<F extends ParamsFields = ParamsFields> {
  /** Short name used in pipeline keys and labels; the file is shaders/<name>.wgsl. */
  name: string;
  /** The WGSL with every include joined in: the f32 shader. */
  code: string;
  /** The uniform Params struct, field by field (empty for a shader without one). */
  params: ParamsLayout<F>;
}

const INCLUDE = /^#include "([^"]+)"[ \t]*$/;

/** Replaces each include marker of `code` by its piece; throws on an unknown, repeated or malformed marker. */
export function joinIncludes(name: string, code: string): string {
  const seen = new Set<string>();
  const lines = code.split('\n').map((line, i) => {
    if (!line.startsWith('#')) return line;
    const where = `Shader "${name}" line ${i + 1}`;
    const m = INCLUDE.exec(line);
    if (!m) throw new Error(`${where}: "${line}" is not a directive; the only one is #include "common/<piece>.wgsl".`);
    const path = m[1]!;
    const piece = PIECES[path];
    if (piece === undefined)
      throw new Error(`${where}: unknown include "${path}"; the pieces are ${Object.keys(PIECES).join(', ')}.`);
    if (seen.has(path)) throw new Error(`${where}: "${path}" is included twice.`);
    seen.add(path);
    if (/^#/m.test(piece)) throw new Error(`${where}: the piece "${path}" holds a directive; pieces cannot include.`);
    return piece.replace(/\n$/, '');
  });
  return lines.join('\n');
}

/** A shader from its file's text (`import source from '../../shaders/<name>.wgsl'`) and its Params fields. */
export function defineShader<const F extends ParamsFields = Record<never, never>>(
  name: string,
  code: string,
  params?: F,
): ShaderSource<F> {
  return { name, code: joinIncludes(name, code), params: paramsLayout((params ?? {}) as F) };
}
