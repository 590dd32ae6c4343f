/**
 * mlx-lm LoRA adapters (what `mlx_lm.load(..., adapter_path=...)`, `mlx_lm.generate --adapter-path` and `mlx_lm.fuse`
 * load, through mlx_lm/tuner/utils.py `load_adapters`): a folder with
 *   adapters.safetensors  keys `model.layers.N.self_attn.q_proj.lora_a` [in, r] and `.lora_b` [r, out] (no `.weight`),
 *                         i.e. PEFT's A and B transposed; forward y + scale · (x @ lora_a) @ lora_b;
 *   adapter_config.json   `fine_tune_type` "lora", `num_layers`, `lora_parameters` {rank, scale, dropout, keys}.
 * mlx-lm converts the LAST `num_layers` blocks (`model.layers[-num_layers:]`) and, in each, the modules named by
 * `keys` (paths relative to the block, e.g. "self_attn.q_proj"; without `keys` recent mlx-lm adapts every linear
 * layer), so an adapter whose layers are not a top-N suffix of the model cannot be expressed and is refused.
 * `scale` is the absolute multiplier: alpha / r for LoRA, alpha / √r for rsLoRA (reading back gives alpha = scale · r).
 * Browser-safe: reads from ByteSources, writes bytes.
 */
import { z } from 'zod';
import type { ByteSource } from './byte-source.ts';
import { type AdapterDtype, adapterTensorData, type PeftExport } from './peft.ts';
import { readSafetensorsHeader, readSafetensorsTensor, tensorBytesToF32 } from './safetensors.ts';
import { writeSafetensors } from './safetensors-write.ts';
import { formatIssues } from '../schema/issues.ts';

export const MLX_WEIGHTS_FILE = 'adapters.safetensors';
export const MLX_CONFIG_FILE = 'adapter_config.json';

/** Thrown when an adapter cannot be written as (or read from) an mlx-lm adapter; the message says why and what to do. */
export class MlxAdapterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MlxAdapterError';
  }
}

const MODULE_PATH = /^model\.layers\.(\d+)\.(.+)$/;

/** [rows, cols] row-major → [cols, rows] row-major. */
export function transpose2d(values: Float32Array, rows: number, cols: number): Float32Array {
  if (values.length !== rows * cols) throw new Error(`transpose: ${values.length} values are not ${rows} × ${cols}`);
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) {
    const row = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = values[row + c]!;
  }
  return out;
}

/** The LoRA scale mlx-lm multiplies by: alpha / r, or alpha / √r for rsLoRA. */
export function mlxScale(e: Pick<PeftExport, 'alpha' | 'rank' | 'rslora'>): number {
  return e.rslora ? e.alpha / Math.sqrt(e.rank) : e.alpha / e.rank;
}

export interface MlxLayout {
  /** `num_layers`: the adapter covers model.layers[totalLayers − numLayers, totalLayers). */
  numLayers: number;
  /** `lora_parameters.keys`: module paths relative to a block, sorted. */
  keys: string[];
}

/**
 * How the adapter maps onto mlx-lm's "last num_layers layers × keys"; throws MlxAdapterError when its layers are not
 * exactly the top N of the model's `totalLayers` (mlx-lm would then put adapters on the wrong layers).
 */
export function mlxLayout(e: PeftExport, totalLayers: number): MlxLayout {
  if (e.modules.length === 0) throw new MlxAdapterError('The adapter has no LoRA modules to export.');
  const layers = new Set<number>();
  const keys = new Set<string>();
  for (const m of e.modules) {
    const match = MODULE_PATH.exec(m.path);
    if (!match)
      throw new MlxAdapterError(
        `The adapter has weights for ${m.path}, which is not inside a decoder layer (model.layers.N.…): mlx-lm adapters cannot hold it.`,
      );
    const layer = Number(match[1]);
    if (layer >= totalLayers)
      throw new MlxAdapterError(
        `The adapter has weights for layer ${layer}, but the model has only ${totalLayers} layers: is it the right base model?`,
      );
    layers.add(layer);
    keys.add(match[2]!);
  }
  for (const l of e.layersToTransform ?? []) {
    if (!Number.isInteger(l) || l < 0 || l >= totalLayers)
      throw new MlxAdapterError(
        `The adapter lists layer ${l}, but the model has layers 0 to ${totalLayers - 1}: is it the right base model?`,
      );
    layers.add(l);
  }
  const sorted = [...layers].sort((a, b) => a - b);
  const n = sorted.length;
  const isSuffix = sorted.every((l, i) => l === totalLayers - n + i);
  if (!isSuffix) {
    throw new MlxAdapterError(
      `mlx-lm applies an adapter to the last num_layers layers of the model only, but this adapter is on layers ${sorted.join(', ')} of ${totalLayers} ` +
        `(not the top ${n}). It cannot be exported for MLX without changing what it does: train with all layers or the top N layers, or export PEFT instead.`,
    );
  }
  return { numLayers: n, keys: [...keys].sort() };
}

/** adapter_config.json text: the fields `load_adapters` reads, sorted and indented as mlx-lm's `save_config` writes them. */
export function mlxConfigJson(e: PeftExport, totalLayers: number): string {
  const { numLayers, keys } = mlxLayout(e, totalLayers);
  const config = {
    fine_tune_type: 'lora',
    lora_parameters: { dropout: e.dropout, keys, rank: e.rank, scale: mlxScale(e) },
    model: e.baseModel,
    num_layers: numLayers,
  };
  return `${JSON.stringify(config, null, 4)}\n`;
}

/** adapters.safetensors bytes: lora_a = Aᵀ [in, r], lora_b = Bᵀ [r, out], in `dtype` (f32 by default). */
export function mlxWeights(e: PeftExport, totalLayers: number, dtype: AdapterDtype = 'f32'): Uint8Array<ArrayBuffer> {
  mlxLayout(e, totalLayers); // refuse what mlx-lm would misapply before writing anything
  const r = e.rank;
  const tensors = e.modules.flatMap((m) => {
    if (m.A.length !== r * m.inFeatures || m.B.length !== m.outFeatures * r)
      throw new MlxAdapterError(
        `${m.path}: A or B does not have rank ${r} × [${m.outFeatures}, ${m.inFeatures}] values.`,
      );
    return [
      {
        name: `${m.path}.lora_a`,
        shape: [m.inFeatures, r],
        ...adapterTensorData(transpose2d(m.A, r, m.inFeatures), dtype),
      },
      {
        name: `${m.path}.lora_b`,
        shape: [r, m.outFeatures],
        ...adapterTensorData(transpose2d(m.B, m.outFeatures, r), dtype),
      },
    ];
  });
  // mlx saves with {"format": "mlx"}; mx.load ignores the metadata, transformers-style readers want a format.
  return writeSafetensors(tensors, { format: 'mlx' });
}

/** Both files of the adapter folder. */
export function mlxAdapterFiles(
  e: PeftExport,
  totalLayers: number,
  dtype: AdapterDtype = 'f32',
): { name: string; bytes: Uint8Array<ArrayBuffer> }[] {
  const config = new TextEncoder().encode(mlxConfigJson(e, totalLayers));
  return [
    { name: MLX_WEIGHTS_FILE, bytes: mlxWeights(e, totalLayers, dtype) },
    { name: MLX_CONFIG_FILE, bytes: config },
  ];
}

const MlxConfigSchema = z
  .object({
    fine_tune_type: z.string().default('lora'),
    num_layers: z.number().int(),
    lora_parameters: z
      .object({
        rank: z.number().int().positive(),
        scale: z.number(),
        dropout: z.number().min(0).max(1).default(0),
        keys: z.array(z.string()).nullish(),
      })
      .passthrough(),
    model: z.string().nullish(),
  })
  .passthrough();

const WEIGHT_KEY = /^(model\.layers\.\d+\..+)\.lora_([ab])$/;

/**
 * Reads an mlx-lm LoRA adapter folder back into PEFT orientation. `totalLayers` (the base model's) resolves
 * `num_layers` (−1 or ≥ total: every layer → layersToTransform null); without it the layers are those in the file.
 */
export async function readMlxAdapter(
  configText: string,
  weights: ByteSource,
  totalLayers?: number,
): Promise<PeftExport> {
  let raw: unknown;
  try {
    raw = JSON.parse(configText);
  } catch (err) {
    throw new MlxAdapterError(`${MLX_CONFIG_FILE} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = MlxConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error);
    throw new MlxAdapterError(`${MLX_CONFIG_FILE} is not an mlx-lm LoRA adapter config: ${issues}`);
  }
  const c = parsed.data;
  if (c.fine_tune_type !== 'lora')
    throw new MlxAdapterError(
      `This mlx-lm adapter is fine_tune_type "${c.fine_tune_type}"; only "lora" adapters can be read.`,
    );
  const rank = c.lora_parameters.rank;
  const header = await readSafetensorsHeader(weights, MLX_WEIGHTS_FILE);
  const parts = new Map<
    string,
    { a?: { data: Float32Array; shape: number[] }; b?: { data: Float32Array; shape: number[] } }
  >();
  for (const info of header.tensors) {
    const m = WEIGHT_KEY.exec(info.name);
    if (!m)
      throw new MlxAdapterError(
        `${MLX_WEIGHTS_FILE} holds ${info.name}, which is not a LoRA weight of a decoder layer (…lora_a / …lora_b).`,
      );
    if (info.shape.length !== 2)
      throw new MlxAdapterError(`${info.name} has shape [${info.shape.join(', ')}]; LoRA weights are 2-D.`);
    const entry = parts.get(m[1]!) ?? {};
    entry[m[2] as 'a' | 'b'] = {
      data: tensorBytesToF32(info.dtype, await readSafetensorsTensor(weights, info)),
      shape: info.shape,
    };
    parts.set(m[1]!, entry);
  }
  const modules: PeftExport['modules'] = [];
  const layers = new Set<number>();
  const targets = new Set<string>();
  for (const [path, { a, b }] of parts) {
    if (!a || !b)
      throw new MlxAdapterError(
        `${MLX_WEIGHTS_FILE} has lora_${a ? 'a' : 'b'} but not lora_${a ? 'b' : 'a'} for ${path}.`,
      );
    const [inF, r] = a.shape as [number, number];
    const [r2, outF] = b.shape as [number, number];
    if (r !== rank || r2 !== rank)
      throw new MlxAdapterError(
        `${path}: lora_a is [${a.shape}] and lora_b is [${b.shape}], but ${MLX_CONFIG_FILE} says rank ${rank}.`,
      );
    modules.push({
      path,
      inFeatures: inF,
      outFeatures: outF,
      A: transpose2d(a.data, inF, r),
      B: transpose2d(b.data, r, outF),
    });
    layers.add(Number(MODULE_PATH.exec(path)![1]));
    targets.add(path.slice(path.lastIndexOf('.') + 1));
  }
  if (modules.length === 0) throw new MlxAdapterError(`${MLX_WEIGHTS_FILE} holds no LoRA weights.`);
  let layersToTransform: number[] | null = [...layers].sort((x, y) => x - y);
  if (totalLayers !== undefined) {
    const n =
      c.num_layers < 0 || c.num_layers >= totalLayers ? totalLayers : c.num_layers === 0 ? totalLayers : c.num_layers;
    layersToTransform = n === totalLayers ? null : Array.from({ length: n }, (_, i) => totalLayers - n + i);
  }
  return {
    rank,
    alpha: c.lora_parameters.scale * rank,
    dropout: c.lora_parameters.dropout,
    rslora: false,
    targetModules: [...targets].sort(),
    layersToTransform,
    baseModel: c.model ?? '',
    modules: modules.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0)),
  };
}
