/**
 * A model's tensors under their Hugging Face names, whatever the file format: safetensors (single or sharded) or
 * GGUF (names mapped back, with what must be undone: llama.cpp's q/k row permutation, gemma's +1 on norms).
 * Only headers are read here; each tensor's bytes are read on demand by the loader, one tensor at a time.
 * `checkTensors` compares the table with what the architecture needs (src/model/tensors.ts) before anything is
 * uploaded, so a wrong checkpoint fails fast with the tensor named.
 */
import type { ByteSource } from '../formats/byte-source.ts';
import { type GgufFile, readGguf, readGgufTensor } from '../formats/gguf.ts';
import { readGgufHfConfig } from '../formats/gguf-config.ts';
import { ggufTensorMapping } from '../formats/gguf-names.ts';
import type { GgmlType } from '../formats/gguf-types.ts';
import { SAFETENSORS_INDEX_FILE, SafetensorsModel } from '../formats/safetensors-model.ts';
import type { SafetensorsDtype } from '../formats/safetensors.ts';
import { type ModelDescription, parseModelConfig } from './config.ts';
import { detectLayout, type ModelByteSource, ModelLoadError, type ModelSource } from './source.ts';
import { expectedTensors, type TensorSpec } from './tensors.ts';

/** How a tensor is stored in the file (lower case = the engine's format names where they coincide). */
export type StoredType = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0' | 'q2_k' | 'q3_k' | 'q4_k' | 'q5_k' | 'q6_k';

export interface CheckpointTensor {
  /** HF name. */
  name: string;
  /** torch order, outermost first. */
  shape: number[];
  /** null: a dtype the loader cannot read (`rawType` says which). */
  stored: StoredType | null;
  rawType: string;
  file: string;
  bytes: number;
  read(): Promise<Uint8Array>;
  /** GGUF llama/mistral q/k: heads to undo the row permutation with (rows move whole). */
  unpermuteHeads: number | null;
  /** GGUF gemma norms hold HF + normShift. */
  normShift: number;
}

export interface Checkpoint {
  desc: ModelDescription;
  format: 'safetensors' | 'gguf';
  files: string[];
  tensors: Map<string, CheckpointTensor>;
  /** Tensors of the file that have no HF counterpart (e.g. GGUF `rope_freqs.weight`). */
  unmapped: string[];
  /** Where the model's shape came from, for messages: "config.json", or the GGUF file's metadata. */
  configFile: string;
  /** A sharded checkpoint's index file (its weight_map says which shard holds each tensor), for messages. */
  indexFile?: string;
  /** Closes every file the checkpoint opened. */
  close(): Promise<void>;
}

const SAFETENSORS_STORED: Partial<Record<SafetensorsDtype, StoredType>> = { F32: 'f32', F16: 'f16', BF16: 'bf16' };
/** The GGUF tensor types the loader reads, as the StoredType each is loaded from (the llama.cpp judge covers each). */
export const GGUF_STORED: Partial<Record<GgmlType, StoredType>> = {
  F32: 'f32',
  F16: 'f16',
  BF16: 'bf16',
  Q8_0: 'q8_0',
  Q4_0: 'q4_0',
  Q2_K: 'q2_k',
  Q3_K: 'q3_k',
  Q4_K: 'q4_k',
  Q5_K: 'q5_k',
  Q6_K: 'q6_k',
};

/** Opens the source's checkpoint (detecting its layout) and parses its config. */
export async function openCheckpoint(source: ModelSource): Promise<Checkpoint> {
  const layout = await detectLayout(source);
  const opened: ModelByteSource[] = [];
  const open = async (file: string): Promise<ByteSource> => {
    const s = await source.open(file);
    opened.push(s);
    return s;
  };
  const close = async () => {
    await Promise.all(opened.splice(0).map((s) => s.close?.()));
  };
  try {
    if (layout.kind === 'gguf') return await ggufCheckpoint(await open(layout.file), layout.file, close);
    const desc = parseModelConfig(layout.config);
    const st =
      layout.kind === 'safetensors'
        ? await SafetensorsModel.openSingle(await open(layout.file), layout.file)
        : await SafetensorsModel.openSharded(layout.index, open);
    const tensors = new Map<string, CheckpointTensor>();
    for (const t of st.tensors) {
      tensors.set(t.name, {
        name: t.name,
        shape: t.shape,
        stored: SAFETENSORS_STORED[t.dtype] ?? null,
        rawType: t.dtype,
        file: t.file,
        bytes: t.end - t.begin,
        read: () => st.readBytes(t.name),
        unpermuteHeads: null,
        normShift: 0,
      });
    }
    return {
      desc,
      format: 'safetensors',
      files: [...st.headers.keys()],
      tensors,
      unmapped: [],
      configFile: 'config.json',
      ...(layout.kind === 'sharded' ? { indexFile: SAFETENSORS_INDEX_FILE } : {}),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

async function ggufCheckpoint(src: ByteSource, file: string, close: () => Promise<void>): Promise<Checkpoint> {
  const gguf: GgufFile = await readGguf(src, file);
  const configFile = `${file} (GGUF metadata)`;
  const desc = parseModelConfig(await readGgufHfConfig(src, gguf), configFile);
  const arch = gguf.metadata.get('general.architecture');
  const ctx = { arch: arch?.type === 'string' ? arch.value : desc.arch, heads: desc.heads, kvHeads: desc.kvHeads };
  const tensors = new Map<string, CheckpointTensor>();
  const unmapped: string[] = [];
  for (const info of gguf.tensors) {
    const map = ggufTensorMapping(info.name, ctx);
    if (!map) {
      unmapped.push(info.name);
      continue;
    }
    tensors.set(map.hfName, {
      name: map.hfName,
      shape: info.shape,
      stored: GGUF_STORED[info.type] ?? null,
      rawType: info.type,
      file,
      bytes: info.end - info.begin,
      read: () => readGgufTensor(src, info),
      unpermuteHeads: map.unpermuteHeads,
      normShift: map.normShift,
    });
  }
  return { desc, format: 'gguf', files: [file], tensors, unmapped, configFile, close };
}

/** How each tensor is stored, by HF name (for the memory plan: a GGUF file mixes types, e.g. Q4_K_M). */
export function checkpointStoredTypes(ckpt: Checkpoint): Record<string, StoredType> {
  const out: Record<string, StoredType> = {};
  for (const [name, t] of ckpt.tensors) if (t.stored) out[name] = t.stored;
  return out;
}

const SUPPORTED = { safetensors: 'F32, F16, BF16', gguf: 'F32, F16, BF16, Q8_0, Q4_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K' };

/** One line per problem: missing tensors, wrong shapes, unreadable dtypes. */
export function tensorProblems(ckpt: Checkpoint, specs: TensorSpec[] = expectedTensors(ckpt.desc)): string[] {
  const problems: string[] = [];
  const where = ckpt.files.join(', ');
  // A config with fewer layers than the weights would load a truncated model without a word.
  let deepest: string | null = null;
  let deepestLayer = -1;
  for (const name of ckpt.tensors.keys()) {
    const layer = Number(/^model\.layers\.(\d+)\./.exec(name)?.[1] ?? -1);
    if (layer > deepestLayer) [deepestLayer, deepest] = [layer, name];
  }
  if (deepestLayer >= ckpt.desc.layers)
    problems.push(
      `${where} has weights for layer ${deepestLayer} (${deepest}) but ${ckpt.configFile} says num_hidden_layers = ${ckpt.desc.layers}: the config does not belong to these weights`,
    );
  for (const spec of specs) {
    const t = ckpt.tensors.get(spec.name);
    if (!t) {
      problems.push(
        `missing tensor ${spec.name} (expected shape [${spec.shape.join(', ')}]) in ${where}${ckpt.indexFile ? ` (not in ${ckpt.indexFile}'s weight_map)` : ''}`,
      );
      continue;
    }
    if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
      problems.push(
        `tensor ${spec.name} has shape [${t.shape.join(', ')}], expected [${spec.shape.join(', ')}] for this ${ckpt.desc.arch} config`,
      );
      continue;
    }
    if (t.stored === null) {
      const bnb =
        t.rawType === 'U8' || t.rawType === 'I8'
          ? ' (a bitsandbytes or other pre-quantized checkpoint? load the original 16-bit model and quantize on load instead)'
          : '';
      problems.push(
        `tensor ${spec.name} is stored as ${t.rawType}, which cannot be loaded (supported: ${SUPPORTED[ckpt.format]})${bnb}`,
      );
    }
  }
  return problems;
}

/** Throws a ModelLoadError naming the first problems, or returns the specs in load order. */
export function checkTensors(ckpt: Checkpoint): TensorSpec[] {
  const specs = expectedTensors(ckpt.desc);
  const problems = tensorProblems(ckpt, specs);
  if (problems.length > 0) {
    const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : '';
    throw new ModelLoadError(
      `${ckpt.files.join(', ')} does not fit its ${ckpt.desc.arch} config (${ckpt.configFile}): ${problems.slice(0, 5).join('; ')}${more}.`,
    );
  }
  return specs;
}
