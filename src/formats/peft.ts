/**
 * PEFT LoRA adapters (what `PeftModel.from_pretrained` loads): adapter_config.json + adapter_model.safetensors with
 * keys `base_model.model.<module path>.lora_A.weight` [r, in] and `.lora_B.weight` [out, r] (FORMATS.md).
 * Browser-safe: reads from ByteSources, writes bytes.
 */
import { z } from 'zod';
import type { ByteSource } from './byte-source.ts';
import { f32ArrayToBf16, f32ArrayToF16 } from './half.ts';
import { readSafetensorsHeader, readSafetensorsTensor, tensorBytesToF32 } from './safetensors.ts';
import { writeSafetensors } from './safetensors-write.ts';
import { formatIssues } from '../schema/issues.ts';

/** Ranks above this are refused (no projection is that wide; PEFT's own examples stay at 8–256). */
export const MAX_RANK = 65536;
/** The largest scaling (alpha / r, or alpha / √r) accepted: beyond it the adapter's output overflows f16 and f32 sums. */
export const MAX_SCALING = 65536;
/** The largest LoRA tensor read (bytes as stored): a rank-1024 adapter on a 128k-vocabulary head is 512 MiB in f32. */
export const MAX_ADAPTER_TENSOR_BYTES = 2 ** 30;

/** The classic fields only: newer keys crash older PEFT versions. */
export const PeftConfigSchema = z
  .object({
    peft_type: z.literal('LORA'),
    task_type: z.string().nullish(),
    r: z.number().int().positive().max(MAX_RANK).default(8),
    lora_alpha: z.number().positive().max(1e6).default(8),
    lora_dropout: z.number().min(0).max(1).default(0),
    target_modules: z.union([z.array(z.string()), z.string()]).nullish(),
    layers_to_transform: z.union([z.array(z.number().int()), z.number().int()]).nullish(),
    bias: z.string().default('none'),
    fan_in_fan_out: z.boolean().default(false),
    use_rslora: z.boolean().default(false),
    use_dora: z.boolean().default(false),
    base_model_name_or_path: z.string().nullish(),
    modules_to_save: z.array(z.string()).nullish(),
    inference_mode: z.boolean().default(true),
    init_lora_weights: z.union([z.boolean(), z.string()]).default(true),
  })
  .passthrough();
export type PeftConfig = z.infer<typeof PeftConfigSchema>;

export interface PeftModule {
  /** e.g. "model.layers.0.self_attn.q_proj" */
  path: string;
  /** [r, in] */
  A: Float32Array;
  /** [out, r] */
  B: Float32Array;
  inFeatures: number;
  outFeatures: number;
}

export interface PeftAdapter {
  config: PeftConfig;
  rank: number;
  scaling: number;
  modules: Map<string, PeftModule>;
}

const KEY = /^base_model\.model\.(.+)\.lora_([AB])(?:\.[^.]+)?\.weight$/;

export function parsePeftConfig(json: unknown): PeftConfig {
  const r = PeftConfigSchema.safeParse(json);
  if (!r.success) {
    const issues = formatIssues(r.error);
    throw new Error(`adapter_config.json is not a LoRA adapter config: ${issues}`);
  }
  if (r.data.use_dora)
    throw new Error(
      'This adapter uses DoRA (use_dora: true), which is not supported; train or export a plain LoRA adapter.',
    );
  if (r.data.fan_in_fan_out)
    throw new Error(
      'This adapter was trained with fan_in_fan_out (GPT-2 style Conv1D layers), which llama-family models do not use.',
    );
  return r.data;
}

/** Magnitudes no real LoRA weight reaches (the same bound as the model loader's scan): beyond it outputs overflow. */
export const MAX_WEIGHT_MAGNITUDE = 2 ** 40;

/** The first value of `values` that is NaN, ±Inf or beyond ±2^40, as [index, value]; null when there is none. */
export function firstBadValue(values: ArrayLike<number>): [number, number] | null {
  for (let i = 0; i < values.length; i++) if (!(Math.abs(values[i]!) < MAX_WEIGHT_MAGNITUDE)) return [i, values[i]!];
  return null;
}

const FLOAT_DTYPES: readonly string[] = ['F32', 'F16', 'BF16', 'F64'];
const WEIGHTS_FILE = 'adapter_model.safetensors';

export async function readPeftAdapter(configText: string, weights: ByteSource): Promise<PeftAdapter> {
  let json: unknown;
  try {
    json = JSON.parse(configText);
  } catch (err) {
    throw new Error(`adapter_config.json is not valid JSON (${(err as Error).message})`);
  }
  const config = parsePeftConfig(json);
  const header = await readSafetensorsHeader(weights, WEIGHTS_FILE);
  const parts = new Map<
    string,
    { A?: { data: Float32Array; shape: number[] }; B?: { data: Float32Array; shape: number[] } }
  >();
  for (const info of header.tensors) {
    const m = KEY.exec(info.name);
    if (!m) continue; // e.g. modules_to_save copies, which this app does not use
    const what = `${WEIGHTS_FILE}: tensor ${JSON.stringify(info.name)}`;
    if (!FLOAT_DTYPES.includes(info.dtype))
      throw new Error(`${what} is ${info.dtype}; LoRA weights must be F32, F16, BF16 or F64`);
    if (info.shape.length !== 2 || info.shape.some((d) => d === 0))
      throw new Error(`${what} has shape [${info.shape.join(', ')}]; a LoRA matrix has two non-zero dimensions`);
    if (info.end - info.begin > MAX_ADAPTER_TENSOR_BYTES)
      throw new Error(
        `${what} is ${info.end - info.begin} bytes, more than the ${MAX_ADAPTER_TENSOR_BYTES} a LoRA matrix can have here: corrupt?`,
      );
    const data = tensorBytesToF32(info.dtype, await readSafetensorsTensor(weights, info));
    const bad = firstBadValue(data);
    if (bad)
      throw new Error(
        `${what} holds ${bad[1]} at element ${bad[0]} (NaN, ±Inf or beyond ±2^40): the adapter is corrupt (or its training diverged); it would turn every output into NaN`,
      );
    const entry = parts.get(m[1]!) ?? {};
    entry[m[2] as 'A' | 'B'] = { data, shape: info.shape };
    parts.set(m[1]!, entry);
  }
  const modules = new Map<string, PeftModule>();
  for (const [path, { A, B }] of parts) {
    if (!A || !B)
      throw new Error(`${WEIGHTS_FILE} has lora_${A ? 'A' : 'B'} but not lora_${A ? 'B' : 'A'} for ${path}`);
    const [r, inF] = A.shape as [number, number];
    const [outF, r2] = B.shape as [number, number];
    if (r !== config.r || r2 !== config.r)
      throw new Error(
        `${WEIGHTS_FILE}: ${path}: lora_A is [${A.shape}] and lora_B is [${B.shape}], but adapter_config.json says r = ${config.r}`,
      );
    modules.set(path, { path, A: A.data, B: B.data, inFeatures: inF, outFeatures: outF });
  }
  if (modules.size === 0)
    throw new Error('adapter_model.safetensors holds no LoRA weights (no keys like base_model.model.….lora_A.weight).');
  const scaling = config.use_rslora ? config.lora_alpha / Math.sqrt(config.r) : config.lora_alpha / config.r;
  if (!(scaling <= MAX_SCALING))
    throw new Error(
      `adapter_config.json: lora_alpha ${config.lora_alpha} with r ${config.r} gives a scaling of ${scaling}, more than ${MAX_SCALING}: the adapter's output would overflow`,
    );
  return { config, rank: config.r, scaling, modules };
}

export interface PeftExport {
  rank: number;
  alpha: number;
  dropout: number;
  rslora: boolean;
  targetModules: string[];
  layersToTransform: number[] | null;
  baseModel: string;
  modules: { path: string; A: Float32Array; B: Float32Array; inFeatures: number; outFeatures: number }[];
}

/** adapter_config.json text with the classic fields, in PEFT's spelling. */
export function peftConfigJson(e: PeftExport): string {
  const config = {
    base_model_name_or_path: e.baseModel,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_to_transform: e.layersToTransform,
    lora_alpha: e.alpha,
    lora_dropout: e.dropout,
    modules_to_save: null,
    peft_type: 'LORA',
    r: e.rank,
    target_modules: e.targetModules,
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: e.rslora,
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** The dtypes adapter weights can be exported in (PEFT keeps f32; F16 / BF16 halve the file, rounded to nearest even). */
export type AdapterDtype = 'f32' | 'f16' | 'bf16';

/** f32 values as a safetensors tensor of `dtype` (F16 / BF16 bits rounded to nearest, ties to even). */
export function adapterTensorData(
  values: Float32Array,
  dtype: AdapterDtype,
): { dtype: 'F32' | 'F16' | 'BF16'; data: Float32Array | Uint16Array } {
  switch (dtype) {
    case 'f32':
      return { dtype: 'F32', data: values };
    case 'f16':
      return { dtype: 'F16', data: f32ArrayToF16(values) };
    case 'bf16':
      return { dtype: 'BF16', data: f32ArrayToBf16(values) };
    default:
      throw new Error(`unknown adapter dtype "${String(dtype)}" (f32, f16 or bf16)`);
  }
}

/** adapter_model.safetensors bytes (f32 by default, or F16 / BF16), metadata {"format": "pt"}. */
export function peftWeights(e: PeftExport, dtype: AdapterDtype = 'f32'): Uint8Array<ArrayBuffer> {
  const tensors = e.modules.flatMap((m) => [
    {
      name: `base_model.model.${m.path}.lora_A.weight`,
      shape: [e.rank, m.inFeatures],
      ...adapterTensorData(m.A, dtype),
    },
    {
      name: `base_model.model.${m.path}.lora_B.weight`,
      shape: [m.outFeatures, e.rank],
      ...adapterTensorData(m.B, dtype),
    },
  ]);
  return writeSafetensors(tensors, { format: 'pt' });
}
