import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobByteSource, type ByteSource, MemoryByteSource } from '../../../src/formats/byte-source.ts';
import { NodeFileByteSource } from '../../../src/formats/byte-source-node.ts';
import { bf16ToF32, f16ToF32, f32ArrayToBf16, f32ArrayToF16 } from '../../../src/formats/half.ts';
import { readSafetensorsHeader, readSafetensorsTensor, tensorBytesToF32 } from '../../../src/formats/safetensors.ts';
import {
  planSafetensors,
  type SafetensorsTensorInput,
  writeSafetensors,
} from '../../../src/formats/safetensors-write.ts';
import { seededRng } from '../../harness/rng.ts';

function bytesOf(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** A file from a hand-written header (any key order, any padding) and a data buffer. */
function rawFile(header: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

/** Records every read so tests can check that reads are ranged. */
class CountingSource implements ByteSource {
  readonly reads: [number, number][] = [];
  constructor(private readonly inner: ByteSource) {}
  get size(): number {
    return this.inner.size;
  }
  get name(): string | undefined {
    return this.inner.name;
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    this.reads.push([offset, length]);
    return this.inner.read(offset, length);
  }
}

describe('safetensors write → read', () => {
  const rng = seededRng('safetensors round trip');
  const f32 = rng.f32(12);
  const half = rng.f32(6);
  const tensors: SafetensorsTensorInput[] = [
    { name: 'model.layers.0.self_attn.q_proj.weight', dtype: 'F32', shape: [3, 4], data: f32 },
    { name: 'f16', dtype: 'F16', shape: [2, 3], data: f32ArrayToF16(half) },
    { name: 'bf16', dtype: 'BF16', shape: [6], data: f32ArrayToBf16(half) },
    { name: 'ids', dtype: 'I32', shape: [3], data: Int32Array.from([-7, 0, 2 ** 31 - 1]) },
    { name: 'mask', dtype: 'U8', shape: [5], data: Uint8Array.from([0, 1, 255, 3, 4]) },
    { name: 'big', dtype: 'I64', shape: [1], data: BigInt64Array.from([-5n]) },
    { name: 'scalar', dtype: 'F32', shape: [], data: Float32Array.from([42]) },
    { name: 'empty', dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
  ];
  const metadata = { format: 'pt', note: 'ünïcode ✓' };
  const file = writeSafetensors(tensors, metadata);

  it('lays the file out exactly: u64 length, JSON padded with spaces to 8, contiguous data', () => {
    const n = Number(new DataView(file.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const headerText = new TextDecoder().decode(file.subarray(8, 8 + n));
    expect(headerText.trimEnd().length).toBeGreaterThan(n - 8);
    expect(/^\{.*\} *$/s.test(headerText)).toBe(true);
    const header = JSON.parse(headerText) as Record<string, { data_offsets: [number, number] }>;
    expect(Object.keys(header)[0]).toBe('__metadata__');
    let offset = 0;
    for (const t of tensors) {
      expect(header[t.name]!.data_offsets).toEqual([offset, offset + t.data.byteLength]);
      expect(file.subarray(8 + n + offset, 8 + n + offset + t.data.byteLength)).toEqual(bytesOf(t.data));
      offset += t.data.byteLength;
    }
    expect(file.byteLength).toBe(8 + n + offset);
  });

  it('matches a hand-built file byte for byte', () => {
    const json = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    const padded = json + ' '.repeat((8 - (json.length % 8)) % 8);
    const want = rawFile(padded, bytesOf(Float32Array.from([1, 2])));
    expect(writeSafetensors([{ name: 'a', dtype: 'F32', shape: [2], data: Float32Array.from([1, 2]) }])).toEqual(want);
  });

  it('reads back every tensor with the same dtype, shape, bytes and values, and the metadata', async () => {
    const source = new MemoryByteSource(file, 'rt.safetensors');
    const header = await readSafetensorsHeader(source);
    expect(header.metadata).toEqual(metadata);
    expect(header.dataOffset % 8).toBe(0);
    expect(header.tensors.map((t) => t.name)).toEqual(tensors.map((t) => t.name));
    for (const t of tensors) {
      const info = header.byName.get(t.name)!;
      expect(info.dtype).toBe(t.dtype);
      expect(info.shape).toEqual(t.shape);
      expect(await readSafetensorsTensor(source, info)).toEqual(bytesOf(t.data));
    }
    expect(tensorBytesToF32('F32', await readSafetensorsTensor(source, header.byName.get(tensors[0]!.name)!))).toEqual(
      f32,
    );
    const f16 = tensorBytesToF32('F16', await readSafetensorsTensor(source, header.byName.get('f16')!));
    expect(Array.from(f16)).toEqual(Array.from(f32ArrayToF16(half), f16ToF32));
    const bf16 = tensorBytesToF32('BF16', await readSafetensorsTensor(source, header.byName.get('bf16')!));
    expect(Array.from(bf16)).toEqual(Array.from(f32ArrayToBf16(half), bf16ToF32));
    expect(Array.from(tensorBytesToF32('I32', await readSafetensorsTensor(source, header.byName.get('ids')!)))).toEqual(
      [-7, 0, 2 ** 31],
    );
    expect(Array.from(tensorBytesToF32('I64', await readSafetensorsTensor(source, header.byName.get('big')!)))).toEqual(
      [-5],
    );
  });

  it('reads through a Blob the same as from memory, with ranged reads only', async () => {
    const counting = new CountingSource(new BlobByteSource(new Blob([file]), 'blob.safetensors'));
    const header = await readSafetensorsHeader(counting);
    const info = header.byName.get('f16')!;
    expect(await readSafetensorsTensor(counting, info)).toEqual(bytesOf(tensors[1]!.data));
    expect(counting.reads).toEqual([
      [0, 8],
      [8, header.headerLength],
      [info.begin, info.end - info.begin],
    ]);
  });

  it('handles unpadded headers and any key order from other writers', async () => {
    const data = bytesOf(Float32Array.from([1, 2, 3]));
    const f = rawFile(
      '{"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
      data,
    );
    const header = await readSafetensorsHeader(new MemoryByteSource(f));
    expect(header.tensors.map((t) => t.name)).toEqual(['a', 'b']);
    expect(header.metadata).toBeNull();
    expect(
      tensorBytesToF32('F32', await readSafetensorsTensor(new MemoryByteSource(f), header.byName.get('b')!)),
    ).toEqual(Float32Array.from([3]));
  });

  it('plans a layout without data (for streaming exports) that equals the written header', () => {
    const layout = planSafetensors(tensors, metadata);
    expect(file.subarray(0, layout.header.byteLength)).toEqual(layout.header);
    expect(layout.fileSize).toBe(file.byteLength);
  });

  it('refuses wrong data lengths, duplicate names and non-string metadata', () => {
    expect(() => writeSafetensors([{ name: 'x', dtype: 'F32', shape: [3], data: new Float32Array(2) }])).toThrow(
      /needs 12 bytes, got 8/,
    );
    const t = { name: 'x', dtype: 'F32' as const, shape: [1], data: new Float32Array(1) };
    expect(() => writeSafetensors([t, t])).toThrow(/duplicate/);
    expect(() => writeSafetensors([t], { n: 3 as unknown as string })).toThrow(/must be a string/);
  });
});

describe('corrupt safetensors files give clear errors naming the file', () => {
  const good = writeSafetensors([
    { name: 'a', dtype: 'F32', shape: [2], data: Float32Array.from([1, 2]) },
    { name: 'b', dtype: 'F16', shape: [2], data: Uint16Array.from([1, 2]) },
  ]);
  const cases: [string, Uint8Array, RegExp][] = [
    ['shorter than 8 bytes', new Uint8Array(5), /5 bytes, fewer than the 8-byte header length/],
    [
      'a huge header length',
      (() => {
        const f = good.slice();
        new DataView(f.buffer).setBigUint64(0, 2n ** 60n, true);
        return f;
      })(),
      /exceeds 100000000 bytes/,
    ],
    ['a header running past the end', good.subarray(0, 20), /runs past the end of the file/],
    ['a header that is not JSON', rawFile('{"a": nope}   '), /not valid UTF-8 JSON/],
    ['a header that is not an object', rawFile('[1,2,3] '), /does not start with "\{"/],
    [
      'an unknown dtype',
      rawFile('{"a":{"dtype":"F7","shape":[1],"data_offsets":[0,1]}}', new Uint8Array(1)),
      /tensor "a" has an invalid header entry: dtype/,
    ],
    [
      'offsets that disagree with the shape',
      rawFile('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', new Uint8Array(4)),
      /needs 8 bytes but data_offsets \[0, 4\] hold 4/,
    ],
    [
      'a gap between tensors',
      rawFile('{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', new Uint8Array(2)),
      /leaves a gap of 1 bytes/,
    ],
    [
      'overlapping tensors',
      rawFile(
        '{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}',
        new Uint8Array(2),
      ),
      /overlaps the previous tensor/,
    ],
    [
      'truncated tensor data',
      good.subarray(0, good.byteLength - 1),
      /describes 12 bytes of tensor data but the file holds 11: the file is truncated/,
    ],
    ['trailing bytes', new Uint8Array([...good, 0]), /the file has trailing bytes/],
    ['non-string metadata', rawFile('{"__metadata__":{"n":1}}'), /__metadata__ must map strings to strings/],
  ];
  for (const [what, bytes, message] of cases) {
    it(what, async () => {
      const err = await readSafetensorsHeader(new MemoryByteSource(bytes, 'broken.safetensors')).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err).not.toBeNull();
      expect(err!.message).toMatch(/^broken\.safetensors: /);
      expect(err!.message).toMatch(message);
    });
  }
});

describe('Node file byte source', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'st-node-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads tensors with positioned reads and rejects ranges past the end', async () => {
    const data = Float32Array.from({ length: 1000 }, (_, i) => i / 7);
    const path = join(dir, 'm.safetensors');
    await writeFile(path, writeSafetensors([{ name: 'w', dtype: 'F32', shape: [10, 100], data }]));
    const source = await NodeFileByteSource.open(path);
    try {
      const header = await readSafetensorsHeader(source);
      expect(header.fileName).toBe('m.safetensors');
      expect(tensorBytesToF32('F32', await readSafetensorsTensor(source, header.byName.get('w')!))).toEqual(data);
      await expect(source.read(source.size - 2, 4)).rejects.toThrow(/m\.safetensors: cannot read 4 bytes at offset/);
    } finally {
      await source.close();
    }
    await expect(source.read(0, 1)).rejects.toThrow(/read after close/);
  });
});
