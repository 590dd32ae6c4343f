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

/** The classic fields only: newer keys crash older PEFT versions. */
export const PeftConfigSchema = z
  .object({
    peft_type: z.literal('LORA'),
    task_type: z.string().nullish(),
    r: z.number().int().positive().default(8),
    lora_alpha: z.number().positive().default(8),
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
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
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

export async function readPeftAdapter(configText: string, weights: ByteSource): Promise<PeftAdapter> {
  const config = parsePeftConfig(JSON.parse(configText));
  const header = await readSafetensorsHeader(weights, 'adapter_model.safetensors');
  const parts = new Map<
    string,
    { A?: { data: Float32Array; shape: number[] }; B?: { data: Float32Array; shape: number[] } }
  >();
  for (const info of header.tensors) {
    const m = KEY.exec(info.name);
    if (!m) continue; // e.g. modules_to_save copies, which this app does not use
    const entry = parts.get(m[1]!) ?? {};
    entry[m[2] as 'A' | 'B'] = {
      data: tensorBytesToF32(info.dtype, await readSafetensorsTensor(weights, info)),
      shape: info.shape,
    };
    parts.set(m[1]!, entry);
  }
  const modules = new Map<string, PeftModule>();
  for (const [path, { A, B }] of parts) {
    if (!A || !B)
      throw new Error(`adapter_model.safetensors has lora_${A ? 'A' : 'B'} but not lora_${A ? 'B' : 'A'} for ${path}`);
    const [r, inF] = A.shape as [number, number];
    const [outF, r2] = B.shape as [number, number];
    if (r !== config.r || r2 !== config.r)
      throw new Error(
        `${path}: lora_A is [${A.shape}] and lora_B is [${B.shape}], but adapter_config.json says r = ${config.r}`,
      );
    modules.set(path, { path, A: A.data, B: B.data, inFeatures: inF, outFeatures: outF });
  }
  if (modules.size === 0)
    throw new Error('adapter_model.safetensors holds no LoRA weights (no keys like base_model.model.….lora_A.weight).');
  const scaling = config.use_rslora ? config.lora_alpha / Math.sqrt(config.r) : config.lora_alpha / config.r;
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
