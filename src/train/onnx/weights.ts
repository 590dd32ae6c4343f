/**
 * The bytes of an exported decoder's initializers, one at a time, from the model folder's safetensors (F32, F16 or
 * BF16) and the adapter: W += scaling · B @ A (accumulated in float64, rounded once to f32, as merge.ts does) for the
 * merged modules, then (1 + w) for gemma norms, the [out, in] → [in, out] transpose for MatMul, and the cast to the
 * variant's dtype, or 4-bit blocks for MatMulNBits. Host memory stays near one tensor: the writer asks for each
 * initializer in turn and the three MatMulNBits parts of a weight are quantized once.
 */
import { quantizeQ4, type Q4Blocks } from '../../formats/onnx/q4.ts';
import { f32ArrayToF16 } from '../../formats/half.ts';
import { readSafetensorsTensor, tensorBytesToF32 } from '../../formats/safetensors.ts';
import type { ModelDescription } from '../../model/config.ts';
import { ropeConfigOf } from '../../model/rope-config.ts';
import type { ModelSource } from '../../model/source.ts';
import { ropeInvFreq } from '../../kernels/rope-freqs.ts';
import type { AdapterTensors } from '../adapter.ts';
import { adapterScaling, closeAll, mergeRows, openWeights, type OpenedWeights, type SourceTensor } from '../merge.ts';
import type { ModulePart, OnnxWeightDtype, Recipe } from './recipes.ts';

type Module = AdapterTensors['modules'][number];

/** Thrown when the model's files or the adapter do not fit the ONNX export; the message says what to do. */
export class OnnxExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxExportError';
  }
}

function asBytes(v: Float32Array | Uint16Array | Uint8Array): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function cast(values: Float32Array, dtype: OnnxWeightDtype): Uint8Array {
  return asBytes(dtype === 'float32' ? values : f32ArrayToF16(values));
}

function transpose(W: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(W.length);
  for (let r = 0; r < rows; r++) {
    const row = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = W[row + c]!;
  }
  return out;
}

export class OnnxWeights {
  private readonly byName: Map<string, SourceTensor>;
  private readonly modules: Map<string, Module>;
  private readonly scaling: number;
  /** The MatMulNBits parts of the weight quantized last. */
  private q4: { tensor: string; blocks: Q4Blocks } | null = null;
  /** Adapter modules that went into some initializer (every one must, or the export would lose part of it). */
  readonly used = new Set<string>();

  private constructor(
    private readonly desc: ModelDescription,
    private readonly opened: OpenedWeights,
    private readonly adapter: AdapterTensors | null,
  ) {
    this.byName = new Map(opened.tensors.map((t) => [t.info.name, t]));
    this.modules = new Map((adapter?.modules ?? []).map((m) => [m.path, m]));
    this.scaling = adapter ? adapterScaling(adapter) : 0;
  }

  static async open(source: ModelSource, desc: ModelDescription, adapter: AdapterTensors | null): Promise<OnnxWeights> {
    return new OnnxWeights(desc, await openWeights(source, true), adapter);
  }

  async close(): Promise<void> {
    await closeAll(this.opened.sources);
  }

  /** The stored tensor as f32 values with the listed adapters merged into its rows. */
  private async merged(name: string, merge: ModulePart[]): Promise<{ W: Float32Array; rows: number; cols: number }> {
    const t = this.byName.get(name);
    if (!t)
      throw new OnnxExportError(
        `${name} is not in the model's safetensors files: the folder does not hold a complete ${this.desc.arch} model.`,
      );
    const shape = t.info.shape;
    const rows = shape[0] ?? 1;
    const cols = shape.length > 1 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
    const W = tensorBytesToF32(t.info.dtype, await readSafetensorsTensor(t.source, t.info));
    for (const part of merge) {
      const m = this.modules.get(part.path);
      if (!m) continue;
      if (m.inFeatures !== cols || part.rowOffset + m.outFeatures > rows)
        throw new OnnxExportError(
          `${m.path}: the adapter is [${m.outFeatures} × ${m.inFeatures}] but ${name} is [${shape.join(' × ')}]: was it trained on another base model?`,
        );
      mergeRows(
        W.subarray(part.rowOffset * cols, (part.rowOffset + m.outFeatures) * cols),
        0,
        m.outFeatures,
        m,
        this.adapter!.rank,
        this.scaling,
      );
      this.used.add(m.path);
    }
    return { W, rows, cols };
  }

  /** Bytes of one initializer (the writer checks their length against the graph's declaration). */
  async bytes(recipe: Recipe): Promise<Uint8Array> {
    switch (recipe.kind) {
      case 'dense': {
        const { W, rows, cols } = await this.merged(recipe.tensor, recipe.merge);
        if (recipe.plusOne) for (let i = 0; i < W.length; i++) W[i] = Math.fround(1 + W[i]!);
        return cast(recipe.transpose ? transpose(W, rows, cols) : W, recipe.dtype);
      }
      case 'q4': {
        if (this.q4?.tensor !== recipe.tensor) {
          this.q4 = null; // free the previous weight's blocks first
          const { W, rows, cols } = await this.merged(recipe.tensor, recipe.merge);
          this.q4 = { tensor: recipe.tensor, blocks: quantizeQ4(W, rows, cols, recipe.blockSize) };
        }
        const b = this.q4.blocks;
        return asBytes(recipe.part === 'codes' ? b.codes : recipe.part === 'scales' ? b.scales : b.zeros);
      }
      case 'lora': {
        const m = this.modules.get(recipe.module);
        if (!m) throw new Error(`internal: no adapter module ${recipe.module}`);
        this.used.add(m.path);
        const r = this.adapter!.rank;
        if (recipe.part === 'A') return cast(transpose(m.A, r, m.inFeatures), recipe.dtype); // Aᵀ [in, r]
        const Bt = transpose(m.B, m.outFeatures, r); // Bᵀ [r, out]
        for (let i = 0; i < Bt.length; i++) Bt[i] = Math.fround(Bt[i]! * this.scaling);
        return cast(Bt, recipe.dtype);
      }
      case 'rope': {
        const inv = ropeInvFreq(ropeConfigOf(this.desc));
        const half = inv.length;
        const out = new Float32Array(recipe.positions * half);
        const f = recipe.part === 'cos' ? Math.cos : Math.sin;
        for (let p = 0; p < recipe.positions; p++) for (let i = 0; i < half; i++) out[p * half + i] = f(p * inv[i]!);
        return cast(out, recipe.dtype);
      }
    }
  }
}
