/**
 * llama.cpp LoRA adapters in GGUF (`llama-cli --lora adapter.gguf`, what convert_lora_to_gguf.py writes and
 * src/llama-adapter.cpp loads):
 *   metadata  general.architecture = the base model's GGUF arch (a Mistral base is "llama"), general.type = "adapter",
 *             adapter.type = "lora", adapter.lora.alpha (f32);
 *   tensors   `<base tensor name>.lora_a` / `.lora_b`, e.g. blk.3.attn_q.weight.lora_a, in PEFT orientation:
 *             lora_a torch [r, in] (ggml ne [in, r]), lora_b torch [out, r] (ggml ne [r, out]); F32 or F16.
 * llama.cpp scales by alpha / r with r = lora_b ne[0] and does not know rsLoRA, so rsLoRA adapters are written with
 * alpha·√r (same product). For llama/mistral the base weights' q and k rows were permuted by the converter
 * (gguf-permute.ts), so lora_B's rows of q (n_heads) and k (n_kv_heads) are permuted the same way; lora_A is not.
 * Phi-3 (llama.cpp's fused attn_qkv and ffn_up = gate then up): the adapter is written fused as PEFT holds it
 * (src/formats/phi3-fuse.ts: rank n·r, block-diagonal B, zero-padded to one rank, alpha scaled to keep alpha / r), so
 * llama.cpp's alpha / r is the same scaling on every tensor; the reader returns it fused.
 * The reader undoes all of it (for tests and imports). Browser-safe.
 */
import type { ByteSource } from './byte-source.ts';
import { dequantizeGguf } from './gguf-dequant.ts';
import { ggufToHfName, hfToGgufName } from './gguf-names.ts';
import { architecture, ggufArchitecture } from '../arch/registry.ts';
import { permuteQkRows, unpermuteQkRows } from './gguf-permute.ts';
import { type GgufFile, GgufError, ggufNumber, ggufString, readGguf, readGgufTensor } from './gguf.ts';
import type { GgufValue } from './gguf-types.ts';
import { encodeGgufTensor } from './gguf-quant.ts';
import { gguf, writeGguf } from './gguf-write.ts';
import type { PeftExport } from './peft.ts';

/** The base model facts the GGUF adapter depends on (a ModelDescription fits). */
export interface GgufLoraModel {
  /** HF model_type (src/model/config.ts Architecture). */
  arch: string;
  heads: number;
  kvHeads: number;
  /** phi3: fused qkv_proj / gate_up_proj. */
  fused?: boolean;
}

export type GgufLoraDtype = 'f32' | 'f16';

export class GgufLoraError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GgufLoraError';
  }
}

/** `general.architecture` of llama.cpp's conversion of an HF model_type (Mistral is converted as "llama"). */
export function ggufArchName(hfArch: string): string {
  return architecture(hfArch)?.ggufArch ?? hfArch;
}

/** adapter.lora.alpha to write so that llama.cpp's alpha / r equals the adapter's scaling. */
export function ggufLoraAlpha(e: Pick<PeftExport, 'alpha' | 'rank' | 'rslora'>): number {
  return e.rslora ? e.alpha * Math.sqrt(e.rank) : e.alpha;
}

/** The rows of lora_B to permute for a module path: q by n_heads, k by n_kv_heads (llama/mistral), else null. */
function permuteHeads(path: string, model: GgufLoraModel): number | null {
  if (!ggufArchitecture(ggufArchName(model.arch))?.ggufPermutesQk) return null;
  if (path.endsWith('.self_attn.q_proj')) return model.heads;
  if (path.endsWith('.self_attn.k_proj')) return model.kvHeads;
  return null;
}

function checkModel(model: GgufLoraModel): string {
  return ggufArchName(model.arch);
}

/** The parts of fused projections (phi3's qkv_proj, gate_up_proj), which have no llama.cpp tensor of their own. */
const FUSED_PART = /\.(self_attn\.[qkv]_proj|mlp\.(gate|up)_proj)$/;

/** The whole adapter .gguf file. */
export function ggufLoraFile(
  e: PeftExport,
  model: GgufLoraModel,
  dtype: GgufLoraDtype = 'f32',
): Uint8Array<ArrayBuffer> {
  if ((dtype as string) !== 'f32' && (dtype as string) !== 'f16')
    throw new GgufLoraError(`A GGUF LoRA is written in f32 or f16, not ${String(dtype)}.`);
  const arch = checkModel(model);
  if (e.modules.length === 0) throw new GgufLoraError('The adapter has no LoRA modules to export.');
  if (!(e.alpha > 0) || !(e.rank > 0))
    throw new GgufLoraError(
      `The adapter's alpha (${e.alpha}) and rank (${e.rank}) must be positive: llama.cpp reads alpha 0 as "no scaling".`,
    );
  if (model.fused || architecture(model.arch)?.fusedProjections) {
    const split = e.modules.find((m) => FUSED_PART.test(m.path));
    if (split)
      throw new GgufLoraError(
        `${split.path}: Phi-3's llama.cpp tensors are the fused attn_qkv and ffn_up; fuse the q/k/v and gate/up adapters first (fusePhi3Adapter, as the PEFT export does).`,
      );
  }
  const type = dtype === 'f16' ? 'F16' : 'F32';
  const r = e.rank;
  const tensors = e.modules.flatMap((m) => {
    const base = hfToGgufName(`${m.path}.weight`, arch);
    if (!base || !base.startsWith('blk.'))
      throw new GgufLoraError(
        `The adapter has weights for ${m.path}, which has no llama.cpp tensor in a ${arch} model.`,
      );
    if (m.A.length !== r * m.inFeatures || m.B.length !== m.outFeatures * r)
      throw new GgufLoraError(
        `${m.path}: A or B does not have rank ${r} × [${m.outFeatures}, ${m.inFeatures}] values.`,
      );
    const heads = permuteHeads(m.path, model);
    const B = heads === null ? m.B : permuteQkRows(m.B, m.outFeatures, heads);
    return [
      { name: `${base}.lora_a`, type, shape: [r, m.inFeatures], data: encodeGgufTensor(type, m.A, [r, m.inFeatures]) },
      { name: `${base}.lora_b`, type, shape: [m.outFeatures, r], data: encodeGgufTensor(type, B, [m.outFeatures, r]) },
    ] as const;
  });
  const metadata: [string, GgufValue][] = [
    ['general.architecture', gguf.string(arch)],
    ['general.type', gguf.string('adapter')],
    ['general.name', gguf.string(e.baseModel ? `${e.baseModel} LoRA` : 'LoRA adapter')],
    // LlamaFileType: 0 ALL_F32, 1 MOSTLY_F16 (informational for adapters)
    ['general.file_type', gguf.u32(dtype === 'f16' ? 1 : 0)],
    ['general.quantization_version', gguf.u32(2)],
  ];
  if (e.baseModel)
    metadata.push(['general.base_model.count', gguf.u32(1)], ['general.base_model.0.name', gguf.string(e.baseModel)]);
  metadata.push(['adapter.type', gguf.string('lora')], ['adapter.lora.alpha', gguf.f32(ggufLoraAlpha(e))]);
  return writeGguf({ metadata, tensors: tensors.map((t) => ({ ...t, shape: [...t.shape] })) });
}

/** A LoRA GGUF header, checked: general.type "adapter", adapter.type "lora", and (given a model) the same arch. */
export function checkGgufLoraHeader(file: GgufFile, model?: GgufLoraModel): void {
  const type = ggufString(file, 'general.type');
  if (type !== 'adapter')
    throw new GgufError(
      file.fileName,
      `general.type is ${type === undefined ? 'missing' : `"${type}"`}, not "adapter": this is not a LoRA adapter`,
    );
  const adapterType = ggufString(file, 'adapter.type');
  if (adapterType !== 'lora')
    throw new GgufError(
      file.fileName,
      `adapter.type is ${adapterType === undefined ? 'missing' : `"${adapterType}"`}, not "lora"`,
    );
  if (model) {
    const arch = ggufString(file, 'general.architecture');
    const want = checkModel(model);
    if (arch !== want)
      throw new GgufError(
        file.fileName,
        `the adapter is for ${arch ?? 'an unknown architecture'}, but the model is ${want}`,
      );
  }
}

/**
 * Reads a LoRA GGUF back into PEFT orientation for `model`: lora_B rows of q/k un-permuted (llama/mistral), alpha as
 * stored (so alpha / r is llama.cpp's scaling; rslora is false), targets and layers from the tensor names.
 */
export async function readGgufLora(source: ByteSource, model: GgufLoraModel, fileName?: string): Promise<PeftExport> {
  const file = await readGguf(source, fileName);
  checkGgufLoraHeader(file, model);
  const arch = ggufArchName(model.arch);
  const storedAlpha = ggufNumber(file, 'adapter.lora.alpha') ?? 0;
  const parts = new Map<
    string,
    { a?: { data: Float32Array; shape: number[] }; b?: { data: Float32Array; shape: number[] } }
  >();
  for (const info of file.tensors) {
    const m = /^(.+)\.lora_([ab])$/.exec(info.name);
    if (!m) {
      if (info.name.endsWith('_norm.weight')) continue; // mergekit extras, ignored by llama.cpp too
      throw new GgufError(file.fileName, `tensor "${info.name}" is neither a .lora_a nor a .lora_b tensor`);
    }
    if (info.shape.length !== 2)
      throw new GgufError(
        file.fileName,
        `tensor "${info.name}" has ${info.shape.length} dimensions; LoRA tensors are 2-D`,
      );
    const count = info.shape[0]! * info.shape[1]!;
    const entry = parts.get(m[1]!) ?? {};
    entry[m[2] as 'a' | 'b'] = {
      data: dequantizeGguf(info.type, await readGgufTensor(source, info), count),
      shape: info.shape,
    };
    parts.set(m[1]!, entry);
  }
  const modules: PeftExport['modules'] = [];
  const layers = new Set<number>();
  const targets = new Set<string>();
  let rank: number | null = null;
  for (const [name, { a, b }] of parts) {
    if (!a || !b)
      throw new GgufError(file.fileName, `LoRA tensor pair for "${name}" is missing its lora_${a ? 'b' : 'a'}`);
    const hf = ggufToHfName(name, arch);
    if (!hf || !hf.endsWith('.weight'))
      throw new GgufError(file.fileName, `"${name}" is not a tensor of a ${arch} model`);
    const path = hf.slice(0, -'.weight'.length);
    const [r, inF] = a.shape as [number, number];
    const [outF, r2] = b.shape as [number, number];
    if (r !== r2) throw new GgufError(file.fileName, `"${name}": lora_a has rank ${r} but lora_b has rank ${r2}`);
    if (rank !== null && r !== rank)
      throw new GgufError(
        file.fileName,
        `"${name}" has rank ${r}, other tensors rank ${rank}; one rank per adapter is supported`,
      );
    rank = r;
    const heads = permuteHeads(path, model);
    modules.push({
      path,
      inFeatures: inF,
      outFeatures: outF,
      A: a.data,
      B: heads === null ? b.data : unpermuteQkRows(b.data, outF, heads),
    });
    const layer = /^model\.layers\.(\d+)\./.exec(path);
    if (layer) layers.add(Number(layer[1]));
    targets.add(path.slice(path.lastIndexOf('.') + 1));
  }
  if (rank === null) throw new GgufError(file.fileName, 'the adapter holds no LoRA tensors');
  const baseModel = ggufString(file, 'general.base_model.0.name') ?? '';
  // llama.cpp: scale = alpha ? alpha / r : 1 (a missing or zero alpha means no scaling)
  const alpha = storedAlpha !== 0 ? storedAlpha : rank;
  return {
    rank,
    alpha,
    dropout: 0,
    rslora: false,
    targetModules: [...targets].sort(),
    layersToTransform: [...layers].sort((x, y) => x - y),
    baseModel,
    modules: modules.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0)),
  };
}
