/**
 * The buffers ModelEngine allocates for at most maxB × maxT tokens, as a list. The engine creates exactly these, and
 * the memory plan sums them without allocating.
 */
import { DECODE_MAX_SPLITS, attentionDecodePartialFloats } from '../kernels/attention_decode.ts';
import type { LoraTarget } from '../schema/model.ts';
import { type BufferSpec, blockDims, savedSpecs, scratchSpecs } from './block-buffers.ts';
import type { ModelDescription } from './config.ts';

/**
 * train: every block's activations kept for the backward; checkpointed: only block inputs kept, each block recomputed
 * in the backward; inference: forward only (logits, generation), two hidden buffers in turn and no gradients.
 */
export type EngineMode = 'train' | 'checkpointed' | 'inference';

export interface EngineShape {
  maxB: number;
  maxT: number;
  ranks: Partial<Record<LoraTarget, number>>;
  mode: EngineMode;
  /** The device's maxStorageBufferBindingSize (caps one chunk of logits). */
  maxBindingBytes: number;
}

/** Tokens per chunk of the LM head, so a [chunk, V] f32 block stays within 64 MiB and one binding. */
export function logitsChunkTokens(vocab: number, tokens: number, maxBindingBytes: number): number {
  const budget = Math.min(64 * 2 ** 20, maxBindingBytes);
  return Math.max(1, Math.min(tokens, Math.floor(budget / (4 * vocab))));
}

export interface EngineSpecs {
  /** Kept activations: block inputs, saved block activations (one set with checkpointing), final norm. */
  activations: BufferSpec[];
  /** Per saved set (one per layer, or one with checkpointing). */
  saved: BufferSpec[][];
  /** The blocks' backward scratch (shared by every layer). */
  blockScratch: BufferSpec[];
  /** The engine's own working buffers: gradients in flight, head chunk, token ids. */
  engineScratch: BufferSpec[];
  chunk: number;
}

export function engineSpecs(d: ModelDescription, s: EngineShape): EngineSpecs {
  const N = s.maxB * s.maxT;
  const C = d.hidden;
  const dims = blockDims(d, s.maxB, s.maxT);
  const chunk = logitsChunkTokens(d.vocab, N, s.maxBindingBytes);
  const spec = (key: string, floats: number): BufferSpec => ({ key, label: key, floats });
  const training = s.mode !== 'inference';
  const activations = [
    ...Array.from({ length: training ? d.layers + 1 : 2 }, (_, l) => spec(`hidden.${l}`, N * C)),
    spec('final-norm', N * C),
    spec('final-rstd', N),
  ];
  const saved = Array.from({ length: s.mode === 'train' ? d.layers : 1 }, () => savedSpecs(d, dims, s.ranks));
  const engineScratch = [
    spec('ids', N),
    spec('positions', N),
    spec('segments', N),
    spec('logits-chunk', chunk * d.vocab),
    spec('head-scratch', chunk * C),
    ...(training
      ? [spec('targets', N), spec('grad.a', N * C), spec('grad.b', N * C), spec('losses', N), spec('loss', 1)]
      : []),
  ];
  return { activations, saved, blockScratch: scratchSpecs(d, dims, s.ranks, !training), engineScratch, chunk };
}

export function specBytes(specs: BufferSpec[]): number {
  return specs.reduce((a, sp) => a + 4 * Math.max(1, sp.floats), 0);
}

/**
 * Decode attention splits the cache into chunks so one new token still fills the GPU; a prompt of n tokens already
 * has n rows of work, so it gets fewer chunks. Each call's scratch is chunks · n · H · (D + 2) floats.
 */
export function decodeSplits(n: number): number {
  return Math.max(1, Math.floor(DECODE_MAX_SPLITS / n));
}

/** Scratch floats for every decode call of a generation whose prompt has at most `promptTokens` tokens. */
export function decodeScratchFloats(d: ModelDescription, promptTokens: number): number {
  const worst = Math.max(promptTokens * decodeSplits(promptTokens), decodeSplits(1));
  return attentionDecodePartialFloats({ n: 1, H: d.heads, D: d.headDim, maxSplits: worst });
}
