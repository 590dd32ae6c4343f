/** The one mechanism that joins shared WGSL into shaders (src/gpu/shader.ts), and the shared pieces' contents. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NF4_CODE } from '../../../src/formats/quant-blocks.ts';
import { defineShader, joinIncludes } from '../../../src/gpu/shader.ts';

const SHADERS_DIR = join(__dirname, '../../../shaders');
const piece = (name: string) => readFileSync(join(SHADERS_DIR, 'common', name), 'utf8');

describe('#include markers', () => {
  it('put the piece in place of the marker', () => {
    const code = joinIncludes('t', 'const A = 1u;\n#include "common/nf4.wgsl"\nfn f() {}\n');
    expect(code).toBe(`const A = 1u;\n${piece('nf4.wgsl').replace(/\n$/, '')}\nfn f() {}\n`);
    expect(code).not.toContain('#');
  });
  it('leave a shader without markers as written', () => {
    const code = 'fn f() {}\n// #include "common/nf4.wgsl" in a comment is text\n';
    expect(defineShader('plain', code).code).toBe(code);
  });
  it('refuse an unknown piece, a piece included twice and any other # line', () => {
    expect(() => joinIncludes('t', '#include "common/nope.wgsl"\n')).toThrow(/unknown include "common\/nope.wgsl"/);
    expect(() => joinIncludes('t', '#include "common/half.wgsl"\n#include "common/half.wgsl"\n')).toThrow(
      /line 2: "common\/half.wgsl" is included twice/,
    );
    expect(() => joinIncludes('t', '#include common/half.wgsl\n')).toThrow(/not a directive/);
    expect(() => joinIncludes('t', '#define X 1\n')).toThrow(/not a directive/);
  });
  it('every shader file includes only pieces that exist, and every piece is used', () => {
    const pieces = readdirSync(join(SHADERS_DIR, 'common'));
    const used = new Set<string>();
    for (const file of readdirSync(SHADERS_DIR).filter((f) => f.endsWith('.wgsl'))) {
      const text = readFileSync(join(SHADERS_DIR, file), 'utf8');
      expect(() => joinIncludes(file, text)).not.toThrow();
      for (const m of text.matchAll(/^#include "common\/([^"]+)"/gm)) used.add(m[1]!);
    }
    for (const p of pieces) expect(/^#/m.test(piece(p)), `${p} holds a directive`).toBe(false);
    expect([...used].sort()).toEqual([...pieces].sort());
  });
});

describe('shared pieces', () => {
  it('the WGSL NF4 code book is the one the host code uses', () => {
    const m = /const NF4_CODE = array<f32, 16>\(([^)]*)\)/.exec(piece('nf4.wgsl'));
    const values = m![1]!
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v.length > 0)
      .map(Number);
    expect(values).toEqual([...NF4_CODE]);
  });
});
