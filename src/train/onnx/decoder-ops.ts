/**
 * The building blocks of the exported decoder graph (decoder-graph.ts): casts between the variant's compute dtype and
 * float32, initializers with their recipes (weights.ts turns them into bytes), projections (MatMul on a transposed
 * f32/f16 weight, or MatMulNBits on 4-bit blocks) with merged or kept-separate adapters, biases, and RMSNorm written as
 * plain ops (onnxruntime fuses it into SimplifiedLayerNormalization).
 */
import { CONTRIB_DOMAIN, type GraphBuilder, type OnnxDtype } from '../../formats/onnx/graph.ts';
import type { ModelDescription } from '../../model/config.ts';
import type { DecoderGraphOptions } from './graph-options.ts';
import type { ModulePart, OnnxWeightDtype, Recipe } from './recipes.ts';

export class DecoderOps {
  readonly act: OnnxDtype;
  readonly wdtype: OnnxWeightDtype;
  private readonly blockSize: number;
  private readonly adapters: Set<string>;
  private readonly separate: boolean;
  private readonly eps: string;

  constructor(
    private readonly g: GraphBuilder,
    private readonly recipes: Map<string, Recipe>,
    d: ModelDescription,
    private readonly o: DecoderGraphOptions,
  ) {
    this.act = o.variant === 'f16' ? 'float16' : 'float32';
    this.wdtype = this.act as OnnxWeightDtype;
    this.blockSize = o.blockSize ?? 32;
    this.adapters = new Set(o.adapterModules);
    this.separate = o.adapterMode === 'separate';
    this.eps = g.scalar('rms_eps', d.rmsEps);
  }

  readonly toAct = (x: string, hint: string) =>
    this.act === 'float32' ? x : this.g.node('Cast', [x], { to: 10 }, { hint });
  readonly toF32 = (x: string, hint: string) =>
    this.act === 'float32' ? x : this.g.node('Cast', [x], { to: 1 }, { hint });
  readonly constAct = (hint: string, v: number) => this.toAct(this.g.scalar(hint, v), `${hint}_cast`);

  readonly dense = (
    tensor: string,
    dims: number[],
    opts: { transpose?: boolean; plusOne?: boolean; merge?: ModulePart[]; dtype?: 'float32' | 'float16' } = {},
  ) => {
    const name = opts.transpose ? `${tensor}.T` : tensor;
    if (!this.recipes.has(name)) {
      this.g.initializer(name, opts.dtype ?? this.wdtype, dims);
      this.recipes.set(name, {
        kind: 'dense',
        tensor,
        dtype: opts.dtype ?? this.wdtype,
        transpose: opts.transpose ?? false,
        plusOne: opts.plusOne ?? false,
        merge: opts.merge ?? [],
      });
    }
    return name;
  };
  readonly normWeight = (tensor: string, n: number, plusOne: boolean) =>
    this.dense(tensor, [n], { plusOne, dtype: 'float32' });
  readonly mergeParts = (parts: ModulePart[]) => (this.separate ? [] : parts.filter((p) => this.adapters.has(p.path)));

  /** x [.., K] (act dtype) times the stored weight `tensor` [N, K]ᵀ, with the listed adapters merged into it. */
  readonly matmul = (x: string, tensor: string, N: number, K: number, parts: ModulePart[], hint: string): string => {
    const merge = this.mergeParts(parts);
    if (this.o.variant === 'q4') {
      const blocks = Math.ceil(K / this.blockSize);
      const codes = `${tensor}.q4`;
      const scales = `${tensor}.q4_scales`;
      const zeros = `${tensor}.q4_zero_points`;
      if (!this.recipes.has(codes)) {
        this.g.initializer(codes, 'uint8', [N, blocks, this.blockSize / 2]);
        this.g.initializer(scales, 'float32', [N * blocks]);
        this.g.initializer(zeros, 'uint8', [N * Math.ceil(blocks / 2)]);
        for (const [name, part] of [
          [codes, 'codes'],
          [scales, 'scales'],
          [zeros, 'zeros'],
        ] as const)
          this.recipes.set(name, { kind: 'q4', part, tensor, blockSize: this.blockSize, merge });
      }
      return this.g.node(
        'MatMulNBits',
        [x, codes, scales, zeros],
        { K, N, bits: 4, block_size: this.blockSize },
        { domain: CONTRIB_DOMAIN, hint },
      );
    }
    return this.g.node('MatMul', [x, this.dense(tensor, [K, N], { transpose: true, merge })], {}, { hint });
  };

  /** The kept-separate adapter of `path`: s·(x·Aᵀ)·Bᵀ, added to y. */
  readonly branch = (x: string, y: string, path: string, inF: number, outF: number): string => {
    if (!this.separate || !this.adapters.has(path)) return y;
    const A = `${path}.lora_A.T`;
    const B = `${path}.lora_B.T`;
    this.g.initializer(A, this.wdtype, [inF, this.o.adapterRank]);
    this.g.initializer(B, this.wdtype, [this.o.adapterRank, outF]);
    this.recipes.set(A, { kind: 'lora', part: 'A', module: path, dtype: this.wdtype });
    this.recipes.set(B, { kind: 'lora', part: 'B', module: path, dtype: this.wdtype });
    const xa = this.g.node('MatMul', [x, A], {}, { hint: `${path}/lora_A` });
    return this.g.node(
      'Add',
      [y, this.g.node('MatMul', [xa, B], {}, { hint: `${path}/lora_B` })],
      {},
      { hint: `${path}/lora_add` },
    );
  };

  readonly bias = (y: string, tensor: string, n: number) =>
    this.g.node(
      'Add',
      [y, this.toAct(this.dense(tensor, [n], { dtype: 'float32' }), `${tensor}_cast`)],
      {},
      { hint: `${tensor}_add` },
    );

  readonly rmsnorm = (x: string, weight: string, hint: string): string => {
    const sq = this.g.node('Mul', [x, x], {}, { hint: `${hint}/sq` });
    const mean = this.g.node('ReduceMean', [sq], { axes: [-1], keepdims: 1 }, { hint: `${hint}/mean` });
    const rstd = this.g.node(
      'Reciprocal',
      [this.g.node('Sqrt', [this.g.node('Add', [mean, this.eps], {}, { hint: `${hint}/eps` })])],
      {},
      { hint: `${hint}/rstd` },
    );
    return this.g.node('Mul', [this.g.node('Mul', [x, rstd], {}, { hint: `${hint}/scaled` }), weight], {}, { hint });
  };
}
