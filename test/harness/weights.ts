/**
 * Base weights of every format for the linear-layer kernel tests: random values put into the format on the CPU
 * (reference quantizers for block formats, round-to-nearest-even for f16 / bf16; random blocks for K-quants),
 * uploaded through the same host paths the model loader uses, with the float64 values the GPU should see (the
 * dequantized weight).
 */
import { f32ToBf16, f32ToF16 } from '../../src/formats/half.ts';
import { packHalves } from '../../src/formats/quant-blocks.ts';
import type { GpuRuntime } from '../../src/gpu/runtime.ts';
import {
  type BaseWeight,
  type WeightFormat,
  uploadDenseWeight,
  uploadGgufWeight,
  uploadNf4Weight,
} from '../../src/kernels/weights.ts';
import { kquantValues, randomKQuantBytes } from './kquant-blocks.ts';
import type { Rng } from './rng.ts';
import {
  bf16ToNumberRef,
  dequantNf4Ref,
  dequantQ4_0Ref,
  dequantQ8_0Ref,
  f16ToNumberRef,
  quantizeNf4Ref,
  quantizeQ4_0Ref,
  quantizeQ8_0Ref,
} from '../reference/quant.ts';

export interface TestWeight {
  w: BaseWeight;
  /** W [M, K] as the kernels must read it, in float64. */
  values: Float64Array;
}

/** A [M, K] weight in `format` with values in about [-1, 1], uploaded under owner "test". */
export function makeTestWeight(rt: GpuRuntime, format: WeightFormat, M: number, K: number, rng: Rng): TestWeight {
  const x = rng.f32(M * K);
  const n = M * K;
  switch (format) {
    case 'f32':
      return {
        w: uploadDenseWeight(rt, 'test', 'w', 'f32', new Uint8Array(x.buffer), M, K),
        values: Float64Array.from(x),
      };
    case 'f16':
    case 'bf16': {
      const bits = Array.from(x, format === 'f16' ? f32ToF16 : f32ToBf16);
      const bytes = new Uint8Array(packHalves(bits).buffer, 0, 2 * n);
      return {
        w: uploadDenseWeight(rt, 'test', 'w', format, bytes, M, K),
        values: Float64Array.from(bits, format === 'f16' ? f16ToNumberRef : bf16ToNumberRef),
      };
    }
    case 'q8_0': {
      const bytes = quantizeQ8_0Ref(x);
      return { w: uploadGgufWeight(rt, 'test', 'w', 'q8_0', bytes, M, K), values: dequantQ8_0Ref(bytes, n) };
    }
    case 'q4_0': {
      const bytes = quantizeQ4_0Ref(x);
      return { w: uploadGgufWeight(rt, 'test', 'w', 'q4_0', bytes, M, K), values: dequantQ4_0Ref(bytes, n) };
    }
    case 'nf4': {
      const { packed, absmax } = quantizeNf4Ref(x);
      return { w: uploadNf4Weight(rt, 'test', 'w', packed, absmax, M, K), values: dequantNf4Ref(packed, absmax, n) };
    }
    default: {
      // K-quants: random blocks (see ./kquant-blocks.ts), x unused.
      const bytes = randomKQuantBytes(format, n, rng);
      return { w: uploadGgufWeight(rt, 'test', 'w', format, bytes, M, K), values: kquantValues(format, bytes, n) };
    }
  }
}
