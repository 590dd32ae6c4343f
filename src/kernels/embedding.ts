/**
 * Embedding gather (shaders/embedding.wgsl): out[N, C] = W[ids[n], :] · scale for a frozen table W [V, C] in any
 * base-weight format (f32, f16, bf16, q8_0, q4_0, nf4, q2_k .. q6_k). Ids ≥ V give rows of zeros. Tables larger than one storage
 * binding (a 150k × 4096 vocabulary) are gathered in row chunks, one dispatch per chunk. No backward: embeddings
 * are frozen.
 */
import source from '../../shaders/embedding.wgsl';
import type { Recorder } from '../gpu/recorder.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { defineShader } from '../gpu/shader.ts';
import { deviceGrid, requireFloats } from './grid.ts';
import { bindingLimits, planRowChunks } from './weight-chunks.ts';
import { type BaseWeight, type WeightFormat, isQuantWeight, validateWeight, weightArrays } from './weights.ts';

export const EMBEDDING_SHADER = defineShader('embedding', source, {
  n: 'u32',
  c: 'u32',
  row0: 'u32',
  rows: 'u32',
  vocab: 'u32',
  scale: 'f32',
});

const FMT: Record<WeightFormat, number> = {
  f32: 0,
  f16: 1,
  bf16: 2,
  q8_0: 3,
  q4_0: 4,
  nf4: 5,
  q2_k: 6,
  q3_k: 7,
  q4_k: 8,
  q5_k: 9,
  q6_k: 10,
};

export interface EmbeddingForwardArgs {
  /** W [V, C]: V = table.rows, C = table.cols. */
  table: BaseWeight;
  /** u32 [N] token ids. */
  ids: GPUBuffer;
  /** f32 [N, C]. */
  out: GPUBuffer;
  N: number;
  C: number;
  /** Multiplier applied to every gathered value (gemma: √C; else 1). */
  scale: number;
}

export interface EmbeddingOptions {
  /** Invocations per workgroup (override WG). */
  workgroupSize?: number;
  /** Upper bound on one binding's bytes, below the device limit (tests use it to force the chunked path). */
  maxBindingBytes?: number;
}

/** Records the gather; returns the number of dispatches (table row chunks). */
export async function embeddingForward(
  rt: GpuRuntime,
  rec: Recorder,
  a: EmbeddingForwardArgs,
  opts: EmbeddingOptions = {},
): Promise<number> {
  const w = a.table;
  validateWeight(w, 'embedding_forward');
  if (w.cols !== a.C) throw new RangeError(`embedding_forward: the table is [${w.rows}, ${w.cols}] but C = ${a.C}`);
  if (!Number.isInteger(a.N) || a.N < 0)
    throw new RangeError(`embedding_forward: N must be a non-negative integer, got ${a.N}`);
  if (a.N === 0) return 0;
  if (a.ids.size < a.N * 4)
    throw new RangeError(`embedding_forward: ids buffer of ${a.ids.size} bytes holds fewer than N = ${a.N} u32`);
  requireFloats('embedding_forward out', a.out, a.N * a.C);
  const arrays = weightArrays(w);
  const chunks = planRowChunks(arrays, w.rows, bindingLimits(rt, opts.maxBindingBytes), 'embedding_forward');
  const WG = opts.workgroupSize ?? 64;
  const pipeline = await rt.pipelines.get({
    shader: EMBEDDING_SHADER,
    entryPoint: 'embedding_forward',
    constants: { WG, FMT: FMT[w.format] },
  });
  const workgroups = deviceGrid(rt, Math.ceil((a.N * a.C) / WG));
  for (const chunk of chunks) {
    // Dense tables have one array (data); block tables have scales then quants.
    const [scales, data] = isQuantWeight(w) ? chunk.bindings : [rt.unusedBinding, chunk.bindings[0]!];
    rec.dispatch({
      label: chunks.length > 1 ? `embedding_forward[rows ${chunk.row0}+${chunk.rows}]` : 'embedding_forward',
      pipeline,
      buffers: [{ buffer: a.ids, size: a.N * 4 }, scales!, data!, { buffer: a.out, size: a.N * a.C * 4 }],
      params: EMBEDDING_SHADER.params.pack({
        n: a.N,
        c: a.C,
        row0: chunk.row0,
        rows: chunk.rows,
        vocab: w.rows,
        scale: a.scale,
      }),
      workgroups,
    });
  }
  return chunks.length;
}
