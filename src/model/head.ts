/** The LM head over any base weight format, for the chunked cross-entropy and for logits. */
import type { GpuRuntime } from '../gpu/runtime.ts';
import { type LmHead, rowChunkHead } from '../kernels/cross_entropy.ts';
import { linearBackwardInput, linearForward } from '../kernels/linear.ts';
import type { BaseWeight } from '../kernels/weights.ts';

export function baseLmHead(rt: GpuRuntime, w: BaseWeight, scratch: GPUBuffer): LmHead {
  const V = w.rows;
  const C = w.cols;
  return rowChunkHead(V, C, scratch, {
    forward: (rec, x, y, N) => linearForward(rt, rec, { x, w, y, N, K: C, M: V }),
    backwardInput: (rec, dy, dx, N) => linearBackwardInput(rt, rec, { dy, w, dx, N, K: C, M: V }),
  });
}
