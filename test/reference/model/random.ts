/** Random float64 weights and LoRA adapters for the reference model, from a seeded generator. */
import type { ModelDescription } from '../../../src/model/config.ts';
import { expectedTensors, loraModulePaths } from '../../../src/model/tensors.ts';
import type { Rng } from '../../harness/rng.ts';
import { Tensor } from './tape.ts';
import type { RefLora, RefWeights } from './transformer.ts';

export function randomWeights(d: ModelDescription, rng: Rng, std = 0.2): RefWeights {
  const out: RefWeights = new Map();
  for (const spec of expectedTensors(d)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      // Norm weights near their neutral value (1 for w, 0 for gemma's 1 + w) so activations stay in range.
      if (spec.kind === 'norm') data[i] = (d.normPlusOne ? 0 : 1) + 0.1 * rng.normal();
      else
        data[i] =
          (spec.kind === 'embedding' ? 1 : std) *
          rng.normal() *
          (spec.kind === 'projection' ? 1 / Math.sqrt(spec.shape[1]!) : 1);
    }
    out.set(spec.name, new Tensor(data, spec.shape, true));
  }
  return out;
}

/** Random A and B (B non-zero, so the adapter changes the output) for every targeted module of every layer. */
export function randomLora(
  d: ModelDescription,
  rng: Rng,
  rank: number,
  alpha: number,
  targets: readonly string[],
  weights: RefWeights,
): RefLora {
  const modules = new Map<string, { A: Tensor; B: Tensor }>();
  for (let l = 0; l < d.layers; l++) {
    for (const path of loraModulePaths(d, l, targets)) {
      const [out, inp] = weights.get(`${path}.weight`)!.shape as [number, number];
      const A = new Tensor(
        Float64Array.from({ length: rank * inp }, () => rng.uniform(-1, 1) / Math.sqrt(inp)),
        [rank, inp],
        true,
      );
      const B = new Tensor(
        Float64Array.from({ length: out * rank }, () => 0.1 * rng.normal()),
        [out, rank],
        true,
      );
      modules.set(path, { A, B });
    }
  }
  return { scaling: alpha / rank, modules };
}
