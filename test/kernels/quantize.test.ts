import { describe, expect, it } from 'vitest';
import { f32ToBf16, f32ToF16 } from '../../src/formats/half.ts';
import { joinGgufBlocks, packHalves } from '../../src/formats/quant-blocks.ts';
import type { GpuRuntime } from '../../src/gpu/runtime.ts';
import { type QuantizeOptions, type QuantizeSource, quantizeToNewWeight } from '../../src/kernels/quantize.ts';
import { type QuantizerFormat, readQuantWeight } from '../../src/kernels/weights.ts';
import { layerLikeWeights } from '../fixtures/quant-known.ts';
import { testRuntime } from '../harness/device.ts';
import { nf4StepRatio, q4_0StepRatio, q8_0StepRatio } from '../harness/quant-bounds.ts';
import { type Rng, seededRng } from '../harness/rng.ts';
import { raggedShapes, raggedSize } from '../harness/shapes.ts';
import {
  bf16ToNumberRef,
  f16ToNumberRef,
  quantizeNf4Ref,
  quantizeQ4_0Ref,
  quantizeQ8_0Ref,
} from '../reference/quant.ts';

/**
 * W [rows, cols] with layer-like blocks plus blocks that hit the edge cases of the quantizers: an all-zero block,
 * exact ties (values k + 0.5 with amax 127 → d = 1 for Q8_0; ±8 first-occurrence for Q4_0), a block so small its
 * f16 scale is subnormal or zero, and a block on a NF4 midpoint.
 */
function testWeights(rng: Rng, rows: number, cols: number, block: number): Float32Array {
  const x = layerLikeWeights(rng, rows * cols, block);
  const put = (b: number, values: number[]) => {
    if ((b + 1) * block <= x.length)
      x.set(values.concat(new Array(block - values.length).fill(0)).slice(0, block), b * block);
  };
  put(0, []);
  put(1, [127, ...Array.from({ length: 31 }, (_, j) => j - 15.5)]);
  put(2, [-8, 8, 0.5, -0.5, 7.4, -7.6, 3.5, 2.5, 1.5, -1.5]);
  put(
    3,
    Array.from({ length: block }, () => rng.normal() * 3e-7),
  );
  put(4, [1, 0.03979014977812767, -0.045525018125772476, 0.8614784181118011, 0.5016634166240692]);
  return x;
}

/** The values as the source format holds them, and the buffer to upload. */
function sourceOf(x: Float32Array, format: QuantizeSource): { values: Float64Array; data: Uint32Array | Float32Array } {
  if (format === 'f32') return { values: Float64Array.from(x), data: x };
  const bits = Array.from(x, format === 'f16' ? f32ToF16 : f32ToBf16);
  return {
    values: Float64Array.from(bits, format === 'f16' ? f16ToNumberRef : bf16ToNumberRef),
    data: packHalves(bits),
  };
}

function firstMismatch(got: Uint8Array, want: Uint8Array): string {
  expect(got.byteLength).toBe(want.byteLength);
  let count = 0;
  let first = -1;
  for (let i = 0; i < want.byteLength; i++) {
    if (got[i] !== want[i]) {
      count++;
      if (first < 0) first = i;
    }
  }
  return count === 0
    ? 'identical'
    : `${count} bytes differ, first at byte ${first}: got ${got[first]} want ${want[first]}`;
}

async function runQuantize(
  rt: GpuRuntime,
  format: QuantizerFormat,
  srcFormat: QuantizeSource,
  x: Float32Array,
  rows: number,
  cols: number,
  opts: QuantizeOptions = {},
) {
  const { values, data } = sourceOf(x, srcFormat);
  const src = rt.memory.upload('test', 'src', data).buffer;
  const rec = rt.recorder('quantize');
  const w = await quantizeToNewWeight(
    rt,
    rec,
    { src, srcFormat, format, rows, cols, owner: 'test-output', label: 'q' },
    opts,
  );
  await rec.submit();
  return { values, arrays: await readQuantWeight(rt, w) };
}

/** Checks GPU bytes against the reference quantizer and the error bound; returns nothing, throws on failure. */
function checkAgainstReference(
  format: QuantizerFormat,
  values: Float64Array,
  arrays: { scales: Uint8Array; quants: Uint8Array },
) {
  const count = values.length;
  if (format === 'nf4') {
    const ref = quantizeNf4Ref(values);
    expect(firstMismatch(arrays.scales, new Uint8Array(ref.absmax.buffer)), 'absmax').toBe('identical');
    expect(firstMismatch(arrays.quants, ref.packed), 'codes').toBe('identical');
    expect(nf4StepRatio(values, arrays.quants, new Float32Array(arrays.scales.slice().buffer))).toBeLessThanOrEqual(1);
    return;
  }
  const gguf = joinGgufBlocks(format, arrays, count);
  const ref = format === 'q8_0' ? quantizeQ8_0Ref(values) : quantizeQ4_0Ref(values);
  expect(firstMismatch(gguf, ref), `${format} GGUF bytes`).toBe('identical');
  expect(format === 'q8_0' ? q8_0StepRatio(values, gguf) : q4_0StepRatio(values, gguf)).toBeLessThanOrEqual(1);
}

/** [rows, cols] drawn per seed: cols a whole number of `block`-wide blocks (mostly an odd count per row). */
const drawn = (format: string, block: number): [number, number][] =>
  raggedShapes(`quantize ${format}`, 1, (r): [number, number] => [raggedSize(r, 1, 140), block * raggedSize(r, 1, 16)]);

const SHAPES: Record<QuantizerFormat, [number, number][]> = {
  // 37 × 96: 111 blocks, an odd count, so the last Q8_0/Q4_0 invocation has a single block.
  q8_0: [[37, 96], [1, 32], [130, 512], ...drawn('q8_0', 32)],
  q4_0: [[37, 96], [1, 32], [130, 512], ...drawn('q4_0', 32)],
  nf4: [[37, 128], [1, 64], [130, 512], ...drawn('nf4', 64)],
};

describe('GPU quantization (shaders/quantize.wgsl) is byte-identical to the reference quantizers', () => {
  for (const format of ['q8_0', 'q4_0', 'nf4'] as const) {
    for (const srcFormat of ['f32', 'f16', 'bf16'] as const) {
      it(`${srcFormat} → ${format}`, async () => {
        const rt = await testRuntime();
        for (const [rows, cols] of SHAPES[format]) {
          const rng = seededRng(`quantize ${srcFormat} → ${format} ${rows}x${cols}`);
          const x = testWeights(rng, rows, cols, format === 'nf4' ? 64 : 32);
          const { values, arrays } = await runQuantize(rt, format, srcFormat, x, rows, cols);
          checkAgainstReference(format, values, arrays);
        }
        rt.memory.destroyOwner('test');
        rt.memory.destroyOwner('test-output');
      });
    }
  }

  it('splits sources and outputs larger than a binding into row chunks, and dispatches in 2-D', async () => {
    const rt = await testRuntime();
    for (const format of ['q8_0', 'q4_0', 'nf4'] as const) {
      const [rows, cols] = [200, 128];
      const rng = seededRng(`quantize split ${format}`);
      const x = testWeights(rng, rows, cols, format === 'nf4' ? 64 : 32);
      // 16 KiB bindings: 32-row chunks (a row of f32 source is 512 bytes); 8-wide workgroups, at most 3 along x, so
      // each chunk runs a 3 × 3 grid of workgroups with idle invocations past the last block.
      const { values, arrays } = await runQuantize(rt, format, 'f32', x, rows, cols, {
        maxBindingBytes: 16384,
        maxWorkgroupsX: 3,
        workgroupSize: 8,
      });
      checkAgainstReference(format, values, arrays);
    }
    rt.memory.destroyOwner('test');
    rt.memory.destroyOwner('test-output');
  });

  it('refuses a row length that is not a whole number of blocks', async () => {
    const rt = await testRuntime();
    const x = new Float32Array(3 * 48);
    await expect(runQuantize(rt, 'q4_0', 'f32', x, 3, 48)).rejects.toThrow(/multiple of 32/);
    await expect(runQuantize(rt, 'nf4', 'f32', new Float32Array(96), 1, 96)).rejects.toThrow(/multiple of 64/);
    rt.memory.destroyOwner('test');
    rt.memory.destroyOwner('test-output');
  });
});
