/** A model's weights on the GPU, as the loader produces them and the engine reads them. */
import type { BaseWeight } from '../kernels/weights.ts';
import type { BlockWeights } from './block.ts';
import type { ModelDescription } from './config.ts';

export interface ModelWeights {
  desc: ModelDescription;
  /** [V, C] embedding table (gathered by token id, times desc.embedScale). */
  embed: BaseWeight;
  /** One per layer; fused phi3 projections are split into q/k/v and gate/up at load. */
  layers: BlockWeights[];
  /** [C] final norm weight (f32). */
  finalNorm: GPUBuffer;
  /** [V, C] LM head; the same object as `embed` when the embeddings are tied. */
  head: BaseWeight;
  /** GPU memory owner of every buffer here (destroy with rt.memory.destroyOwner). */
  owner: string;
}
