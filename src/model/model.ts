/**
 * The model on the GPU: embeddings → blocks → final norm → LM head, for logits and for a training micro-batch
 * (loss over unmasked tokens and LoRA gradients). Buffers are sized once for at most maxB × maxT tokens.
 * In 'train' mode every block's saved activations are kept for the backward; in 'checkpointed' mode each block is
 * recomputed from its input in the backward (gradient checkpointing).
 */
import type { Recorder } from '../gpu/recorder.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { writeBuffer } from '../gpu/readback.ts';
import { IGNORE_INDEX, crossEntropyLoss } from '../kernels/cross_entropy.ts';
import { embeddingForward } from '../kernels/embedding.ts';
import { rmsnormBackward, rmsnormForward } from '../kernels/rmsnorm.ts';
import { uploadRopeTable } from '../kernels/rope.ts';
import type { LoraTarget } from './allocations.ts';
import {
  type BlockDims,
  type BlockSaved,
  type BlockScratch,
  allocateForwardScratch,
  allocateSaved,
  allocateScratch,
  blockDims,
  type ForwardScratch,
} from './block-buffers.ts';
import { type EngineMode, engineSpecs } from './engine-buffers.ts';
import { type BlockContext, blockBackward, blockForward } from './block.ts';
import { baseLmHead } from './head.ts';
import type { ModelLora } from './lora-state.ts';
import { ropeConfigOf } from './rope-config.ts';
import { softcapLogits } from './sampling.ts';
import type { ModelWeights } from './weights-types.ts';

export interface Batch {
  /** u32 [B·T] token ids, row-major. */
  ids: Uint32Array;
  B: number;
  T: number;
  /** u32 [B·T]; default 0..T−1 in every row. */
  positions?: Uint32Array;
  /** u32 [B·T] packing segments (non-decreasing within a row). */
  segments?: Uint32Array;
}

export interface TrainBatch extends Batch {
  /** u32 [B·T]: the id to predict at each position, IGNORE_INDEX where nothing is trained. */
  targets: Uint32Array;
}

export interface StepOptions {
  /** 1 / unmasked tokens of the whole accumulated batch. */
  scale: number;
  /** Add into the loss and the gradients (micro-batches after the first). */
  accumulate: boolean;
  dropout?: { p: number; seed: number };
}

/** Engines on the same weights get their own memory owner, so destroying one never frees another's buffers. */
let engineCount = 0;

export class ModelEngine {
  private readonly owner: string;
  private readonly hidden: GPUBuffer[];
  private readonly saved: BlockSaved[];
  private readonly scratch: BlockScratch | ForwardScratch;
  private readonly ids: GPUBuffer;
  private readonly positions: GPUBuffer;
  private readonly segments: GPUBuffer;
  private readonly targets: GPUBuffer | null;
  private readonly normOut: GPUBuffer;
  private readonly rstdF: GPUBuffer;
  private readonly grads: [GPUBuffer, GPUBuffer] | null;
  private readonly chunk: number;
  private readonly logitsChunk: GPUBuffer;
  private readonly losses: GPUBuffer | null;
  readonly loss: GPUBuffer | null;
  private readonly headScratch: GPUBuffer;
  private readonly ropeTurns: GPUBuffer;

  constructor(
    private readonly rt: GpuRuntime,
    readonly weights: ModelWeights,
    readonly maxB: number,
    readonly maxT: number,
    readonly lora: ModelLora | null = null,
    /** 'train' keeps every block's activations; 'checkpointed' recomputes each block in the backward; 'inference' cannot train. */
    readonly mode: EngineMode = 'train',
  ) {
    const d = weights.desc;
    this.owner = `engine-${weights.owner}-${++engineCount}`;
    const dims = blockDims(d, maxB, maxT);
    const ranks = this.ranks();
    const specs = engineSpecs(d, {
      maxB,
      maxT,
      ranks,
      mode,
      maxBindingBytes: rt.device.limits.maxStorageBufferBindingSize,
    });
    // The engine's own buffers; the blocks' saved sets and scratch come from allocateSaved / allocateScratch.
    const bufs = new Map(
      [...specs.activations, ...specs.engineScratch].map((sp) => [
        sp.key,
        rt.memory.create(this.owner, sp.label, sp.floats * 4).buffer,
      ]),
    );
    const f = (key: string) => bufs.get(key)!;
    this.hidden = specs.activations.filter((sp) => sp.key.startsWith('hidden.')).map((sp) => f(sp.key));
    this.saved = specs.saved.map((_, l) => allocateSaved(rt, `${this.owner}/layer${l}`, d, dims, ranks));
    this.scratch =
      mode === 'inference'
        ? allocateForwardScratch(rt, this.owner, d, dims, ranks)
        : allocateScratch(rt, this.owner, d, dims, ranks);
    this.ids = f('ids');
    this.positions = f('positions');
    this.segments = f('segments');
    this.targets = bufs.get('targets') ?? null;
    this.normOut = f('final-norm');
    this.rstdF = f('final-rstd');
    this.grads = mode === 'inference' ? null : [f('grad.a'), f('grad.b')];
    this.chunk = specs.chunk;
    this.logitsChunk = f('logits-chunk');
    this.losses = bufs.get('losses') ?? null;
    this.loss = bufs.get('loss') ?? null;
    this.headScratch = f('head-scratch');
    this.ropeTurns = uploadRopeTable(rt, this.owner, ropeConfigOf(d));
  }

  /** The input of block l (l = layers: the final hidden states); inference reuses two buffers in turn. */
  private hiddenAt(l: number): GPUBuffer {
    return this.hidden[this.mode === 'inference' ? l % 2 : l]!;
  }

  private ranks(): Partial<Record<LoraTarget, number>> {
    const out: Partial<Record<LoraTarget, number>> = {};
    for (const m of this.lora?.modules ?? []) out[m.target] = Math.max(out[m.target] ?? 0, m.params.R);
    return out;
  }

  private dims(b: Batch): BlockDims {
    return blockDims(this.weights.desc, b.B, b.T);
  }

  private upload(b: Batch): void {
    const n = b.B * b.T;
    if (b.ids.length !== n)
      throw new Error(`batch ids: expected ${n} tokens (B ${b.B} × T ${b.T}), got ${b.ids.length}`);
    if (b.B > this.maxB || b.T > this.maxT)
      throw new Error(`batch ${b.B}×${b.T} is larger than the engine's ${this.maxB}×${this.maxT}`);
    const V = this.weights.desc.vocab;
    for (const id of b.ids) if (id >= V) throw new Error(`token id ${id} is outside the vocabulary (${V})`);
    writeBuffer(this.rt.device, this.ids, b.ids);
    writeBuffer(this.rt.device, this.positions, b.positions ?? Uint32Array.from({ length: n }, (_, i) => i % b.T));
    if (b.segments) writeBuffer(this.rt.device, this.segments, b.segments);
  }

  private context(
    b: Batch,
    layer: number,
    rec: BlockContext['rec'],
    dropout = { p: 0, seed: 0 },
    attend?: BlockContext['attend'],
  ): BlockContext {
    return {
      ...(attend ? { attend } : {}),
      rt: this.rt,
      rec,
      d: this.weights.desc,
      layer,
      dims: this.dims(b),
      positions: this.positions,
      ropeTurns: this.ropeTurns,
      ...(b.segments ? { segments: this.segments } : {}),
      lora: this.lora?.perLayer[layer] ?? {},
      dropout,
    };
  }

  /** Records embeddings → blocks → final norm; the final hidden states are in normOut. */
  private async forward(
    b: Batch,
    rec: BlockContext['rec'],
    dropout?: { p: number; seed: number },
    keepAll = true,
    attendFor?: (layer: number, rec: BlockContext['rec']) => NonNullable<BlockContext['attend']>,
  ): Promise<void> {
    const d = this.weights.desc;
    const n = b.B * b.T;
    await embeddingForward(this.rt, rec, {
      table: this.weights.embed,
      ids: this.ids,
      out: this.hiddenAt(0),
      N: n,
      C: d.hidden,
      scale: d.embedScale,
    });
    for (let l = 0; l < d.layers; l++) {
      // For logits only, one set of saved activations is reused by every layer.
      const saved = keepAll ? this.saved[l]! : this.saved[0]!;
      const ctx = this.context(b, l, rec, dropout, attendFor?.(l, rec));
      await blockForward(ctx, this.weights.layers[l]!, this.hiddenAt(l), this.hiddenAt(l + 1), saved, this.scratch);
    }
    await rmsnormForward(this.rt, rec, {
      x: this.hiddenAt(d.layers),
      w: this.weights.finalNorm,
      y: this.normOut,
      rstd: this.rstdF,
      N: n,
      C: d.hidden,
      eps: d.rmsEps,
      gemma: d.normPlusOne,
    });
  }

  /** Logits [B·T, V] (after the final soft-cap), read back to the host. */
  async logits(b: Batch): Promise<Float32Array> {
    const d = this.weights.desc;
    const n = b.B * b.T;
    this.upload(b);
    const out = this.rt.memory.create(this.owner, 'logits-out', n * d.vocab * 4).buffer;
    try {
      const rec = this.rt.recorder('logits');
      await this.forward(b, rec, undefined, false);
      const head = baseLmHead(this.rt, this.weights.head, this.headScratch);
      for (let t0 = 0; t0 < n; t0 += this.chunk) {
        const t1 = Math.min(n, t0 + this.chunk);
        await head.logits(rec, this.normOut, t0, t1, this.logitsChunk);
        rec.copy(this.logitsChunk, out, (t1 - t0) * d.vocab * 4, 0, t0 * d.vocab * 4);
      }
      await rec.submit();
      return this.finalSoftcap(await this.rt.readF32(out, n * d.vocab));
    } finally {
      this.rt.memory.destroy(out);
    }
  }

  /**
   * Runs `tokens` (new tokens at positions p0, p0 + 1, …) through the model with `attendFor` as each layer's
   * attention step (the KV cache in generation) and returns the logits of the last one (after the final soft-cap).
   */
  async lastLogits(
    tokens: number[],
    p0: number,
    attendFor: (layer: number, rec: BlockContext['rec']) => NonNullable<BlockContext['attend']>,
  ): Promise<Float32Array> {
    const d = this.weights.desc;
    const n = tokens.length;
    const b: Batch = {
      ids: Uint32Array.from(tokens),
      B: 1,
      T: n,
      positions: Uint32Array.from(tokens, (_, i) => p0 + i),
    };
    this.upload(b);
    const rec = this.rt.recorder('decode');
    await this.forward(b, rec, undefined, false, attendFor);
    await baseLmHead(this.rt, this.weights.head, this.headScratch).logits(
      rec,
      this.normOut,
      n - 1,
      n,
      this.logitsChunk,
    );
    await rec.submit();
    return this.finalSoftcap(await this.rt.readF32(this.logitsChunk, d.vocab));
  }

  /** Forward, loss and backward of one micro-batch, submitted (not waited for); see recordTrainMicroBatch. */
  async trainMicroBatch(b: TrainBatch, opts: StepOptions): Promise<void> {
    const rec = this.rt.recorder('train micro-batch', { replay: replayKey('train', b, opts.accumulate) });
    await this.recordTrainMicroBatch(rec, b, opts);
    await rec.submit({ wait: false });
  }

  /**
   * Uploads the batch and records forward, loss and backward of one micro-batch into `rec`; LoRA gradients are added
   * (or written, first micro-batch). Submit `rec` before the next micro-batch is uploaded.
   */
  async recordTrainMicroBatch(rec: Recorder, b: TrainBatch, opts: StepOptions): Promise<void> {
    if (!this.lora) throw new Error('this engine has no LoRA adapters to train');
    if (!this.grads || !this.targets || !this.losses || !this.loss || !('dx2' in this.scratch))
      throw new Error('an inference engine cannot train; create it in train or checkpointed mode');
    const scratch = this.scratch;
    const loss = this.loss;
    const d = this.weights.desc;
    const n = b.B * b.T;
    this.upload(b);
    writeBuffer(this.rt.device, this.targets, b.targets);
    if (!opts.accumulate) {
      for (const m of this.lora.modules) {
        rec.clear(m.params.dA);
        rec.clear(m.params.dB);
      }
    }
    await this.forward(b, rec, opts.dropout, this.mode === 'train');
    const head = baseLmHead(this.rt, this.weights.head, this.headScratch);
    const [gA, gB] = this.grads;
    await crossEntropyLoss(this.rt, rec, {
      head,
      h: this.normOut,
      targets: this.targets,
      T: n,
      chunkTokens: this.chunk,
      logits: this.logitsChunk,
      losses: this.losses,
      loss,
      scale: opts.scale,
      ...(d.finalSoftcap ? { softcap: d.finalSoftcap } : {}),
      dh: gA,
      accumulateLoss: opts.accumulate,
    });
    await rmsnormBackward(this.rt, rec, {
      x: this.hidden[d.layers]!,
      w: this.weights.finalNorm,
      rstd: this.rstdF,
      dy: gA,
      dx: gB,
      N: n,
      C: d.hidden,
      eps: d.rmsEps,
      gemma: d.normPlusOne,
    });
    let dOut = gB;
    let dIn = gA;
    for (let l = d.layers - 1; l >= 0; l--) {
      const ctx = this.context(b, l, rec, opts.dropout);
      const checkpointed = this.mode === 'checkpointed';
      const saved = checkpointed ? this.saved[0]! : this.saved[l]!;
      // Recompute the block from its kept input (same dropout seed, so the same masks); its output is rewritten unchanged.
      if (checkpointed)
        await blockForward(ctx, this.weights.layers[l]!, this.hidden[l]!, this.hidden[l + 1]!, saved, scratch);
      await blockBackward(ctx, this.weights.layers[l]!, this.hidden[l]!, dOut, dIn, saved, scratch);
      [dOut, dIn] = [dIn, dOut];
    }
  }

  /**
   * The loss of one micro-batch without the backward (evaluation): forward with dropout off, the head and the loss;
   * `loss` is written (first micro-batch) or added to, as in training. Submitted, not waited for; read with readLoss.
   */
  async evalMicroBatch(b: TrainBatch, opts: Omit<StepOptions, 'dropout'>): Promise<void> {
    if (!this.targets || !this.losses || !this.loss) throw new Error('an inference engine has no loss');
    const n = b.B * b.T;
    this.upload(b);
    writeBuffer(this.rt.device, this.targets, b.targets);
    const rec = this.rt.recorder('eval micro-batch', { replay: replayKey('eval', b, opts.accumulate) });
    await this.forward(b, rec, undefined, false);
    const d = this.weights.desc;
    await crossEntropyLoss(this.rt, rec, {
      head: baseLmHead(this.rt, this.weights.head, this.headScratch),
      h: this.normOut,
      targets: this.targets,
      T: n,
      chunkTokens: this.chunk,
      logits: this.logitsChunk,
      losses: this.losses,
      loss: this.loss,
      scale: opts.scale,
      ...(d.finalSoftcap ? { softcap: d.finalSoftcap } : {}),
      accumulateLoss: opts.accumulate,
    });
    await rec.submit({ wait: false });
  }

  /** gemma2's final logit soft-cap c·tanh(l/c), applied on the host to logits read back. */
  private finalSoftcap(logits: Float32Array): Float32Array {
    const c = this.weights.desc.finalSoftcap;
    if (c) softcapLogits(logits, c);
    return logits;
  }

  /** [1] f32: the loss of the micro-batches recorded since the last first one (scaled as StepOptions says). */
  get lossBuffer(): GPUBuffer {
    if (!this.loss) throw new Error('an inference engine has no loss');
    return this.loss;
  }

  async readLoss(): Promise<number> {
    if (!this.loss) throw new Error('an inference engine has no loss');
    return (await this.rt.readF32(this.loss, 1))[0]!;
  }

  destroy(): void {
    this.rt.replays.clear(); // their bind groups point at the buffers freed here
    this.rt.memory.destroyOwner(this.owner);
    for (let l = 0; l < this.saved.length; l++) this.rt.memory.destroyOwner(`${this.owner}/layer${l}`);
  }
}

/** One replay tape per command-list shape: what it runs, the batch's B × T, packing, and first or later micro-batch. */
export function replayKey(what: string, b: Batch, accumulate: boolean): string {
  return `${what}:${b.B}x${b.T}:${b.segments ? 'packed' : 'rows'}:${accumulate ? 'add' : 'first'}`;
}

export { IGNORE_INDEX };
