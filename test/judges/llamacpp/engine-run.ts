/**
 * The engine's side of the llama.cpp judge: log-probabilities of a fixed sequence from a model file (one full
 * forward pass on the GPU, K and V in f32, optional PEFT adapter applied unmerged: what `cli logits` computes), its
 * greedy continuation through the KV-cache path of `cli generate`, and the comparisons both sides share.
 */
import type { GpuRuntime } from '../../../src/gpu/runtime.ts';
import { generate } from '../../../src/model/generate.ts';
import { type LoadReport, loadModel } from '../../../src/model/loader.ts';
import { loadPeftDir } from '../../../src/model/lora-peft-node.ts';
import { ModelEngine } from '../../../src/model/model.ts';
import { NodeFolderModelSource } from '../../../src/model/source-node.ts';
import type { WeightFormat } from '../../../src/model/allocations.ts';

let runs = 0;

export interface EngineLogProbs {
  /** [T·V] next-token log-probabilities (float64 log-softmax of the engine's f32 logits). */
  logProbs: Float64Array;
  vocab: number;
  /** The GPU formats the projections were loaded as. */
  formats: Set<WeightFormat>;
  report: LoadReport;
}

/** Loads `path` (a .gguf or a model folder) as stored (quant 'none'), runs `fn`, frees everything. */
async function withEngine<R>(
  rt: GpuRuntime,
  path: string,
  maxT: number,
  adapterDir: string | undefined,
  fn: (engine: ModelEngine, report: LoadReport) => Promise<R>,
): Promise<R> {
  const owner = `llamacpp-judge-${++runs}`;
  try {
    const { weights, report } = await loadModel(rt, await NodeFolderModelSource.open(path), { quant: 'none', owner });
    const lora = adapterDir ? await loadPeftDir(rt, weights.desc, adapterDir) : null;
    const engine = new ModelEngine(rt, weights, 1, maxT, lora, 'inference');
    try {
      return await fn(engine, report);
    } finally {
      engine.destroy();
    }
  } finally {
    rt.memory.destroyOwner(owner);
  }
}

export async function engineLogProbs(
  rt: GpuRuntime,
  path: string,
  ids: readonly number[],
  adapterDir?: string,
): Promise<EngineLogProbs> {
  return withEngine(rt, path, ids.length, adapterDir, async (engine, report) => {
    const logits = await engine.logits({ ids: Uint32Array.from(ids), B: 1, T: ids.length });
    const V = engine.weights.desc.vocab;
    const formats = new Set<WeightFormat>();
    for (const layer of engine.weights.layers) for (const w of Object.values(layer.proj)) formats.add(w.format);
    return { logProbs: logSoftmaxRows(logits, V), vocab: V, formats, report };
  });
}

/** The engine's greedy continuation: `n` tokens, no stop token (`cli generate --temperature 0`). */
export async function engineGreedy(
  rt: GpuRuntime,
  path: string,
  prompt: readonly number[],
  n: number,
  adapterDir?: string,
): Promise<number[]> {
  return withEngine(rt, path, prompt.length + n, adapterDir, async (engine) => {
    const r = await generate(rt, engine, [...prompt], { maxNewTokens: n, eosTokenIds: [], temperature: 0, seed: 0 });
    return r.tokens;
  });
}

/** Row-wise log-softmax in float64. */
export function logSoftmaxRows(logits: ArrayLike<number>, V: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let r = 0; r * V < logits.length; r++) {
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[r * V + v]!);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[r * V + v]! - max);
    const lse = max + Math.log(sum);
    for (let v = 0; v < V; v++) out[r * V + v] = logits[r * V + v]! - lse;
  }
  return out;
}

/** max |a − b| over every entry; a NaN or an infinity on either side makes it Infinity. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!Number.isFinite(d)) return Infinity;
    m = Math.max(m, d);
  }
  return m;
}

/** The argmax of each row of V values. */
export function argmaxRows(x: ArrayLike<number>, V: number): number[] {
  const out: number[] = [];
  for (let r = 0; r * V < x.length; r++) {
    let best = 0;
    for (let v = 1; v < V; v++) if (x[r * V + v]! > x[r * V + best]!) best = v;
    out.push(best);
  }
  return out;
}
