/**
 * The trained adapter as plain host tensors in PEFT's orientation (A [r, in], B [out, r]) with its settings: what
 * every exporter (PEFT, MLX, GGUF LoRA, merged weights) starts from. It comes from the live GPU adapters or from a
 * checkpoint's bytes — the latter needs no GPU, so the app can export any saved checkpoint (e.g. the best one).
 */
import { MemoryByteSource } from '../formats/byte-source.ts';
import type { PeftExport } from '../formats/peft.ts';
import { readSafetensorsHeader, readSafetensorsTensor, tensorBytesToF32 } from '../formats/safetensors.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import type { ModelLora } from '../model/lora-state.ts';
import { type AdapterSettings, readRunState } from './checkpoint.ts';

export type AdapterTensors = PeftExport;

export type { AdapterSettings };

export function adapterSettings(lora: ModelLora, dropout: number, baseModel: string): AdapterSettings {
  const s = lora.settings;
  const layers = [...new Set(lora.modules.map((m) => m.layer))].sort((a, b) => a - b);
  return {
    rank: s.rank,
    alpha: s.alpha,
    rslora: s.rslora,
    dropout,
    targets: [...s.targets],
    layers: layers.length === lora.perLayer.length ? null : layers,
    baseModel,
    fused: lora.fused,
  };
}

function withSettings(s: AdapterSettings, modules: AdapterTensors['modules']): AdapterTensors {
  return {
    rank: s.rank,
    alpha: s.alpha,
    dropout: s.dropout,
    rslora: s.rslora,
    targetModules: [...s.targets],
    layersToTransform: s.layers,
    baseModel: s.baseModel,
    modules,
  };
}

/** Reads the live adapters back from the GPU. */
export async function adapterFromLora(
  rt: GpuRuntime,
  lora: ModelLora,
  dropout: number,
  baseModel: string,
): Promise<AdapterTensors> {
  const R = lora.settings.rank;
  const modules = [];
  for (const m of lora.modules) {
    modules.push({
      path: m.path,
      inFeatures: m.K,
      outFeatures: m.M,
      A: await rt.readF32(m.params.A, R * m.K),
      B: await rt.readF32(m.params.B, m.M * R),
    });
  }
  return withSettings(adapterSettings(lora, dropout, baseModel), modules);
}

/** The adapter of a training checkpoint (src/train/checkpoint.ts), without a GPU. */
export async function adapterFromCheckpoint(bytes: Uint8Array): Promise<AdapterTensors> {
  const state = await readRunState(bytes);
  if (!state.adapter)
    throw new Error(
      'This checkpoint was saved by an older version of the app and does not record its adapter settings; export it from a new run.',
    );
  const source = new MemoryByteSource(bytes);
  const header = await readSafetensorsHeader(source, 'checkpoint');
  const byPath = new Map<
    string,
    { A?: { data: Float32Array; shape: number[] }; B?: { data: Float32Array; shape: number[] } }
  >();
  for (const info of header.tensors) {
    const m = /^(.+)\.lora_([AB])$/.exec(info.name);
    if (!m) continue; // the AdamW moments (`.m`, `.v`)
    const entry = byPath.get(m[1]!) ?? {};
    entry[m[2] as 'A' | 'B'] = {
      data: tensorBytesToF32(info.dtype, await readSafetensorsTensor(source, info)),
      shape: info.shape,
    };
    byPath.set(m[1]!, entry);
  }
  const modules = [];
  for (const [path, { A, B }] of byPath) {
    if (!A || !B || A.shape.length !== 2 || B.shape.length !== 2)
      throw new Error(`The checkpoint's ${path} is incomplete or has no shapes; it cannot be exported.`);
    modules.push({ path, inFeatures: A.shape[1]!, outFeatures: B.shape[0]!, A: A.data, B: B.data });
  }
  return withSettings(state.adapter, modules);
}
