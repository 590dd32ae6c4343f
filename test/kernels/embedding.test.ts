import { describe, expect, it } from 'vitest';
import type { GpuRuntime } from '../../src/gpu/runtime.ts';
import { type EmbeddingOptions, embeddingForward } from '../../src/kernels/embedding.ts';
import { KQUANT_FORMATS, type KQuantFormat } from '../../src/formats/quant-blocks.ts';
import { type WeightFormat, destroyWeight } from '../../src/kernels/weights.ts';
import { expectClose } from '../harness/allclose.ts';
import { testRuntime } from '../harness/device.ts';
import { poisonedF32 } from '../harness/poison.ts';
import type { Rng } from '../harness/rng.ts';
import { seededRng } from '../harness/rng.ts';
import { raggedShapes, raggedSize } from '../harness/shapes.ts';
import { TOLERANCES } from '../harness/tolerances.ts';
import { makeTestWeight } from '../harness/weights.ts';
import { embeddingRef } from '../reference/embedding.ts';

/** Ids mostly in [0, V), with the first and last row, and a few out of range (V, V + 7, 2^32 − 1). */
function randomIds(rng: Rng, N: number, V: number): Uint32Array {
  const ids = Uint32Array.from({ length: N }, () => rng.int(0, V));
  const special = [V - 1, 0, V, 0xffffffff, V + 7];
  for (let i = 0; i < Math.min(N, special.length); i++) ids[(i * 7919) % N] = special[i]!;
  if (N === 1) ids[0] = rng.int(0, V);
  return ids;
}

async function check(
  rt: GpuRuntime,
  format: WeightFormat,
  V: number,
  C: number,
  N: number,
  scale: number,
  opts: EmbeddingOptions = {},
  minChunks = 1,
) {
  const rng = seededRng(`embedding ${format} V=${V} C=${C} N=${N}`);
  const { w, values } = makeTestWeight(rt, format, V, C, rng);
  const ids = randomIds(rng, N, V);
  const idsBuf = rt.memory.upload('test', 'ids', ids).buffer;
  const out = poisonedF32(rt, 'out', N * C);
  const rec = rt.recorder('embedding');
  const chunks = await embeddingForward(rt, rec, { table: w, ids: idsBuf, out, N, C, scale }, opts);
  expect(chunks).toBeGreaterThanOrEqual(minChunks);
  await rec.submit();
  const got = await rt.readF32(out, N * C);
  expectClose(
    `embedding ${format} [${V}, ${C}] N=${N}`,
    got,
    embeddingRef(values, V, C, ids, scale),
    TOLERANCES.embedding_f32,
  );
  destroyWeight(rt, w);
  rt.memory.destroyOwner('test');
  rt.memory.destroyOwner('test-output');
}

// Ragged: C odd for the dense formats (f16/bf16 rows then straddle u32 words), an odd number of 32-blocks per row for
// q8_0 / q4_0 (f16 scales of one row straddle u32 words), N = 1 and N not a multiple of the workgroup.
// Dense formats also get one [V, C] drawn per seed (test/harness/shapes.ts).
const drawn = (format: string): [number, number][] =>
  raggedShapes(`embedding ${format}`, 1, (r): [number, number] => [raggedSize(r, 1, 120), raggedSize(r, 1, 90)]);

const SHAPES: Record<WeightFormat, [V: number, C: number][]> = {
  f32: [[53, 37], [1, 1], ...drawn('f32')],
  f16: [[53, 37], [3, 1], ...drawn('f16')],
  bf16: [[53, 37], [3, 1], ...drawn('bf16')],
  q8_0: [
    [53, 96],
    [2, 32],
  ],
  q4_0: [
    [53, 96],
    [2, 32],
  ],
  nf4: [
    [53, 192],
    [2, 64],
  ],
  // K-quants: an odd number of blocks per row (Q3_K / Q6_K have one f16 scale per block, so rows straddle u32 words).
  ...(Object.fromEntries(
    KQUANT_FORMATS.map((f) => [
      f,
      [
        [21, 768],
        [2, 256],
      ],
    ]),
  ) as Record<KQuantFormat, [number, number][]>),
};

describe('embedding_forward gathers rows of every table format (shaders/embedding.wgsl)', () => {
  for (const format of ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'nf4', ...KQUANT_FORMATS] as const) {
    it(`${format}`, async () => {
      const rt = await testRuntime();
      for (const [V, C] of SHAPES[format]) {
        for (const N of [1, 13, 131]) await check(rt, format, V, C, N, N === 13 ? 1 : Math.sqrt(C));
      }
    });
  }

  it('gathers a table split into row chunks (tables larger than one binding), zeros for ids ≥ V written once', async () => {
    const rt = await testRuntime();
    // 300 rows. Chunks start at rows whose byte offsets meet the offset alignment (every 64 rows for f32 C = 37 with a
    // 256-byte alignment), so each binding limit is one such step of rows: several chunks, the last one ragged.
    await check(rt, 'f32', 300, 37, 77, 1.5, { maxBindingBytes: 64 * 148 }, 2);
    await check(rt, 'f16', 300, 37, 77, 1.5, { maxBindingBytes: 128 * 74 }, 2);
    await check(rt, 'q8_0', 300, 96, 77, 1.5, { maxBindingBytes: 128 * 96 }, 2);
    await check(rt, 'q4_0', 300, 64, 77, 1.5, { maxBindingBytes: 64 * 32 }, 2);
    await check(rt, 'nf4', 300, 64, 77, 1.5, { maxBindingBytes: 64 * 32, workgroupSize: 32 }, 2);
    await check(rt, 'q6_k', 300, 256, 77, 1.5, { maxBindingBytes: 128 * 208 }, 2); // 128-row steps (2-byte scales)
  });

  it('refuses a table whose width is not C', async () => {
    const rt = await testRuntime();
    const { w } = makeTestWeight(rt, 'f32', 4, 8, seededRng('embedding refuse'));
    const ids = rt.memory.upload('test', 'ids', new Uint32Array(2)).buffer;
    const out = poisonedF32(rt, 'out', 2 * 9);
    await expect(embeddingForward(rt, rt.recorder('x'), { table: w, ids, out, N: 2, C: 9, scale: 1 })).rejects.toThrow(
      /\[4, 8\] but C = 9/,
    );
    destroyWeight(rt, w);
    rt.memory.destroyOwner('test');
    rt.memory.destroyOwner('test-output');
  });
});
