import { describe, expect, it } from 'vitest';
import { MemoryByteSource } from '../../../src/formats/byte-source.ts';
import { ggufBool, ggufNumber, ggufPlain, ggufString, readGguf, readGgufTensor } from '../../../src/formats/gguf.ts';
import { dequantizeGguf } from '../../../src/formats/gguf-dequant.ts';
import { encodeGgufTensor } from '../../../src/formats/gguf-quant.ts';
import type { GgmlType, GgufValue } from '../../../src/formats/gguf-types.ts';
import { gguf, writeGguf } from '../../../src/formats/gguf-write.ts';
import { seededRng } from '../../harness/rng.ts';

const METADATA: [string, GgufValue][] = [
  ['t.u8', gguf.u8(255)],
  ['t.i8', gguf.i8(-128)],
  ['t.u16', gguf.u16(65535)],
  ['t.i16', gguf.i16(-32768)],
  ['t.u32', gguf.u32(2 ** 32 - 1)],
  ['t.i32', gguf.i32(-(2 ** 31))],
  ['t.f32', gguf.f32(Math.fround(0.1))],
  ['t.f64', gguf.f64(0.1)],
  ['t.bool.true', gguf.bool(true)],
  ['t.bool.false', gguf.bool(false)],
  ['t.string', gguf.string('héllo ✓ {{ messages }}')],
  ['t.string.empty', gguf.string('')],
  ['t.u64', gguf.u64(2n ** 64n - 1n)],
  ['t.i64', gguf.i64(-(2n ** 63n))],
  ['t.array.u8', gguf.array('u8', [0, 1, 255])],
  ['t.array.i8', gguf.array('i8', [-1, 1])],
  ['t.array.u16', gguf.array('u16', [1, 65535])],
  ['t.array.i16', gguf.array('i16', [-2, 2])],
  ['t.array.u32', gguf.array('u32', [7, 2 ** 32 - 1])],
  ['t.array.i32', gguf.array('i32', [-3, 3])],
  ['t.array.f32', gguf.array('f32', [Math.fround(1.5), Math.fround(-0.25)])],
  ['t.array.f64', gguf.array('f64', [Math.PI])],
  ['t.array.bool', gguf.array('bool', [true, false, true])],
  ['t.array.string', gguf.array('string', ['a', '', 'Ġthe', '<|im_end|>'])],
  ['t.array.u64', gguf.array('u64', [0n, 2n ** 64n - 1n])],
  ['t.array.i64', gguf.array('i64', [-(2n ** 63n), 5n])],
  ['t.array.empty', gguf.array('u32', [])],
  ['t.array.nested', gguf.array('array', [gguf.array('string', ['x', 'y']), gguf.array('string', [])])],
];

const TYPES: GgmlType[] = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_K'];

describe('GGUF write → read', () => {
  it('round-trips metadata of every value type, arrays and nested arrays included', async () => {
    const file = writeGguf({ metadata: METADATA, tensors: [] });
    const parsed = await readGguf(new MemoryByteSource(file, 'meta.gguf'));
    expect(parsed.version).toBe(3);
    expect([...parsed.metadata.keys()]).toEqual(METADATA.map(([k]) => k));
    for (const [key, value] of METADATA) expect(parsed.metadata.get(key), key).toEqual(value);
    expect(ggufNumber(parsed, 't.u32')).toBe(2 ** 32 - 1);
    expect(ggufString(parsed, 't.string')).toBe('héllo ✓ {{ messages }}');
    expect(ggufBool(parsed, 't.bool.true')).toBe(true);
    expect(ggufPlain(parsed.metadata.get('t.u64')!)).toBe(2n ** 64n - 1n);
    expect(ggufPlain(parsed.metadata.get('t.array.nested')!)).toEqual([['x', 'y'], []]);
    expect(() => ggufNumber(parsed, 't.string')).toThrow(
      /meta\.gguf: metadata "t\.string" is string, expected a number/,
    );
  });

  it('round-trips tensors of every written type with aligned offsets and exact bytes', async () => {
    const rng = seededRng('gguf tensor round trip');
    const tensors = TYPES.map((type, i) => {
      const shape = type === 'Q4_K' ? [3, 512] : [5, 64 + 32 * (i % 2)];
      const values = rng.f32(shape[0]! * shape[1]!);
      return { name: `blk.${i}.ffn_up.weight`, type, shape, data: encodeGgufTensor(type, values, shape) };
    });
    tensors.push({
      name: 'output_norm.weight',
      type: 'F32',
      shape: [7],
      data: encodeGgufTensor('F32', rng.f32(7), [7]),
    });
    const file = writeGguf({ metadata: [['general.architecture', gguf.string('llama')]], tensors });
    const source = new MemoryByteSource(file, 't.gguf');
    const parsed = await readGguf(source);
    expect(parsed.alignment).toBe(32);
    expect(parsed.dataOffset % 32).toBe(0);
    expect(parsed.tensors.map((t) => t.name)).toEqual(tensors.map((t) => t.name));
    for (const t of tensors) {
      const info = parsed.byName.get(t.name)!;
      expect(info.type).toBe(t.type);
      expect(info.shape).toEqual(t.shape);
      expect(info.dims).toEqual([...t.shape].reverse());
      expect((info.begin - parsed.dataOffset) % 32).toBe(0);
      expect(await readGgufTensor(source, info)).toEqual(t.data);
    }
  });

  it('honours general.alignment', async () => {
    const tensors = [1, 2, 3].map((n) => ({
      name: `t${n}`,
      type: 'F32' as const,
      shape: [n],
      data: encodeGgufTensor('F32', new Float32Array(n).fill(n), [n]),
    }));
    const file = writeGguf({ metadata: [['general.alignment', gguf.u32(64)]], tensors });
    const parsed = await readGguf(new MemoryByteSource(file));
    expect(parsed.alignment).toBe(64);
    for (const info of parsed.tensors) {
      expect(info.begin % 64).toBe(0);
      const n = info.shape[0]!;
      expect(Array.from(dequantizeGguf('F32', await readGgufTensor(new MemoryByteSource(file), info), n))).toEqual(
        new Array(n).fill(n),
      );
    }
  });

  it('writes the exact container layout (checked against bytes assembled by hand)', () => {
    const file = writeGguf({
      metadata: [['k', gguf.u32(7)]],
      tensors: [
        { name: 'w', type: 'F32', shape: [2, 1], data: encodeGgufTensor('F32', Float32Array.from([1, -1]), [2, 1]) },
      ],
    });
    const want: number[] = [];
    const u32 = (v: number) => want.push(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24);
    const u64 = (v: number) => (u32(v), u32(0));
    want.push(...new TextEncoder().encode('GGUF'));
    // version 3, 1 tensor, 1 metadata pair
    u32(3);
    u64(1);
    u64(1);
    // "k": u32 7
    u64(1);
    want.push(0x6b);
    u32(4);
    u32(7);
    // "w": 2 dims [1, 2] innermost first, F32, offset 0
    u64(1);
    want.push(0x77);
    u32(2);
    u64(1);
    u64(2);
    u32(0);
    u64(0);
    while (want.length % 32 !== 0) want.push(0);
    want.push(0, 0, 0x80, 0x3f, 0, 0, 0x80, 0xbf); // 1.0f, -1.0f
    while (want.length % 32 !== 0) want.push(0);
    expect(Array.from(file)).toEqual(want);
  });

  it('reads large tokenizer arrays and strings across buffer refills', async () => {
    const tokens = Array.from({ length: 60_000 }, (_, i) => `token-${i}-${'x'.repeat(i % 40)}`);
    const scores = tokens.map((_, i) => Math.fround(-i / 3));
    const file = writeGguf({
      metadata: [
        ['tokenizer.ggml.tokens', gguf.array('string', tokens)],
        ['tokenizer.ggml.scores', gguf.array('f32', scores)],
        ['tokenizer.chat_template', gguf.string('{{ x }}'.repeat(250_000))],
        ['after', gguf.string('end')],
      ],
      tensors: [],
    });
    expect(file.byteLength).toBeGreaterThan(4 << 20); // several 1 MiB reader chunks, one string longer than a chunk
    const parsed = await readGguf(new MemoryByteSource(file));
    expect(ggufPlain(parsed.metadata.get('tokenizer.ggml.tokens')!)).toEqual(tokens);
    expect(ggufPlain(parsed.metadata.get('tokenizer.ggml.scores')!)).toEqual(scores);
    expect(ggufString(parsed, 'tokenizer.chat_template')).toBe('{{ x }}'.repeat(250_000));
    expect(ggufString(parsed, 'after')).toBe('end');
  });

  it('refuses values that do not fit their declared type', () => {
    expect(() => writeGguf({ metadata: [['x', gguf.u8(256)]], tensors: [] })).toThrow(/does not fit GGUF type u8/);
    expect(() => writeGguf({ metadata: [['x', gguf.array('string', [3])]], tensors: [] })).toThrow(/not a string/);
    expect(() =>
      writeGguf({ metadata: [], tensors: [{ name: 'q', type: 'Q8_0', shape: [2, 16], data: new Uint8Array(34) }] }),
    ).toThrow(/multiple of 32/);
  });
});

describe('corrupt GGUF files give clear errors naming the file', () => {
  const good = writeGguf({
    metadata: [['general.architecture', gguf.string('llama')]],
    tensors: [{ name: 'w', type: 'F32', shape: [8], data: new Uint8Array(32) }],
  });
  const patched = (edit: (b: Uint8Array, v: DataView) => void): Uint8Array => {
    const b = good.slice();
    edit(b, new DataView(b.buffer));
    return b;
  };
  // Offsets in `good`: magic 0, version 4, counts 8/16, key length 24, key 32..52, type 52, string length 56, value 64..69,
  // tensor name length 69, name 77, n_dims 78, dim 82, type 90, offset 94.
  const cases: [string, Uint8Array, RegExp][] = [
    ['not GGUF', patched((b) => b.set([0x47, 0x47, 0x4d, 0x4c], 0)), /does not start with "GGUF"/],
    ['big-endian', patched((_, v) => v.setUint32(4, 3, false)), /big-endian GGUF/],
    ['an old version', patched((_, v) => v.setUint32(4, 1, true)), /version 1 is not supported/],
    [
      'an absurd metadata count',
      patched((_, v) => v.setBigUint64(16, 2n ** 40n, true)),
      /metadata count is 1099511627776/,
    ],
    [
      'an unknown value type',
      patched((_, v) => v.setUint32(52, 99, true)),
      /metadata "general\.architecture" has unknown value type 99/,
    ],
    [
      'a string longer than the file',
      patched((_, v) => v.setBigUint64(56, 10_000n, true)),
      /length of "general\.architecture"/,
    ],
    ['an unknown ggml type', patched((_, v) => v.setUint32(90, 77, true)), /tensor "w" has ggml type 77/],
    [
      'a misaligned tensor offset',
      patched((_, v) => v.setBigUint64(94, 4n, true)),
      /offset 4 is not a multiple of the alignment 32/,
    ],
    ['a truncated header', good.subarray(0, 60), /unexpected end of file/],
    [
      'truncated tensor data',
      good.subarray(0, good.byteLength - 8),
      /tensor "w" \(F32, 32 bytes at 128\) runs past the end of the file/,
    ],
  ];
  for (const [what, bytes, message] of cases) {
    it(what, async () => {
      const err = await readGguf(new MemoryByteSource(bytes, 'bad.gguf')).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toMatch(/^bad\.gguf: /);
      expect(err?.message).toMatch(message);
    });
  }
});
