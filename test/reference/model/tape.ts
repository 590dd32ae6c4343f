/**
 * A tiny reverse-mode autodiff over float64 arrays, for the reference model and the reference trainer.
 * Each op computes its output in plain loops and records a closure that pushes gradients to its inputs.
 * Deliberately simple (no broadcasting rules beyond what the ops state) so every backward is easy to audit.
 */

export class Tensor {
  grad: Float64Array | null = null;
  constructor(
    readonly data: Float64Array,
    readonly shape: readonly number[],
    readonly requiresGrad = false,
  ) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new Error(`shape [${shape.join(', ')}] does not match ${data.length} values`);
  }
  get size(): number {
    return this.data.length;
  }
  /** Adds into this tensor's gradient (allocated on first use). */
  accumulate(g: Float64Array): void {
    if (!this.grad) this.grad = new Float64Array(this.data.length);
    for (let i = 0; i < g.length; i++) this.grad[i]! += g[i]!;
  }
}

type Backward = (outGrad: Float64Array) => void;

/** Records ops in order; `backward(loss)` runs them in reverse. */
export class Tape {
  private readonly nodes: { out: Tensor; backward: Backward }[] = [];

  record(out: Tensor, backward: Backward): Tensor {
    this.nodes.push({ out, backward });
    return out;
  }

  backward(loss: Tensor): void {
    if (loss.size !== 1) throw new Error('backward() needs a scalar loss');
    loss.grad = new Float64Array([1]);
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const { out, backward } = this.nodes[i]!;
      if (out.grad) backward(out.grad);
    }
  }
}

export function tensor(data: ArrayLike<number>, shape: readonly number[], requiresGrad = false): Tensor {
  return new Tensor(Float64Array.from(data), shape, requiresGrad);
}

export function zeros(shape: readonly number[]): Tensor {
  return new Tensor(new Float64Array(shape.reduce((a, b) => a * b, 1)), shape);
}
