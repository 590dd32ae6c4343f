/**
 * Every shader's uniform `struct Params` against the layout its TypeScript wrapper packs: the same field names, in
 * the same order, with the same types (so the same byte offsets: Params holds 4-byte scalars only). A field
 * reordered, renamed, added or dropped on either side fails here, before any GPU runs.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ParamType } from '../../../src/gpu/params.ts';
import { type ShaderSource, joinIncludes } from '../../../src/gpu/shader.ts';

const SHADERS_DIR = join(__dirname, '../../../shaders');
const SRC_DIR = join(__dirname, '../../../src');
const SCALARS: readonly string[] = ['u32', 'i32', 'f32'] satisfies ParamType[];

/** Every ShaderSource exported by a kernel wrapper. */
function kernelShaders(): ShaderSource[] {
  const modules = import.meta.glob('../../../src/kernels/*.ts', { eager: true });
  const found: ShaderSource[] = [];
  for (const mod of Object.values(modules) as Record<string, unknown>[]) {
    for (const value of Object.values(mod)) {
      const v = value as Partial<ShaderSource> | null;
      if (v && typeof v === 'object' && typeof v.name === 'string' && typeof v.code === 'string' && v.params)
        found.push(v as ShaderSource);
    }
  }
  return [...new Set(found)];
}

/** The fields of the WGSL `struct Params` in `code`, in declaration order; null when there is none. */
function wgslParams(code: string): [string, string][] | null {
  const m = /\bstruct\s+Params\s*\{([^}]*)\}/.exec(code);
  if (!m) return null;
  const body = m[1]!.replace(/\/\/[^\n]*/g, '');
  return body
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f.length > 0)
    .map((f) => {
      const field = /^(\w+)\s*:\s*([\w<>, ]+)$/.exec(f);
      if (!field) throw new Error(`cannot parse Params field "${f}"`);
      return [field[1]!, field[2]!.trim()];
    });
}

const shaders = kernelShaders();
const files = readdirSync(SHADERS_DIR).filter((f) => f.endsWith('.wgsl'));

describe('Params layouts match the WGSL structs', () => {
  it('finds a wrapper for every shader file, named after it', () => {
    expect(files.length).toBeGreaterThan(10);
    expect(shaders.map((s) => `${s.name}.wgsl`).sort()).toEqual([...files].sort());
  });

  for (const file of files) {
    const name = file.replace(/\.wgsl$/, '');
    it(`${file}: the wrapper packs struct Params field by field`, () => {
      const shader = shaders.find((s) => s.name === name);
      expect(shader, `no ShaderSource named "${name}" in src/kernels`).toBeDefined();
      // The wrapper's source is this file, joined with its includes.
      expect(shader!.code).toBe(joinIncludes(name, readFileSync(join(SHADERS_DIR, file), 'utf8')));
      const wgsl = wgslParams(shader!.code) ?? [];
      for (const [field, type] of wgsl)
        expect(SCALARS, `${file}: Params.${field} is ${type}; packParams handles 4-byte scalars only`).toContain(type);
      expect(shader!.params.fields.map(([n, t]) => `${n}: ${t}`)).toEqual(wgsl.map(([n, t]) => `${n}: ${t}`));
    });
  }

  it('no wrapper packs a Params struct by position', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/\.tsx?$/.test(entry.name) && !path.endsWith(join('gpu', 'params.ts'))) {
          if (/\b(packParams|u32Params)\(/.test(readFileSync(path, 'utf8'))) offenders.push(path);
        }
      }
    };
    walk(SRC_DIR);
    expect(offenders).toEqual([]);
  });
});

describe('the Params parser', () => {
  it('reads names and types in order, ignoring comments', () => {
    const code = 'struct Params {\n  a: u32, // x, y\n  b_c: f32,\n  d: i32\n}\n';
    expect(wgslParams(code)).toEqual([
      ['a', 'u32'],
      ['b_c', 'f32'],
      ['d', 'i32'],
    ]);
    expect(wgslParams('fn f() {}')).toBeNull();
  });
});
