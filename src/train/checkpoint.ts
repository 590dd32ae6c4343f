/**
 * Training checkpoints: the LoRA weights, both AdamW moments, the optimizer step and the position in the data order,
 * in one safetensors file (tensors `<param>`, `<param>.m`, `<param>.v`; the run state as JSON in the metadata).
 * The same bytes go to IndexedDB in the browser and to a file in Node. Resuming from one continues exactly: the data
 * order and the dropout seeds are functions of the run's seed, the epoch and the step.
 */
import { MemoryByteSource } from '../formats/byte-source.ts';
import type { FusedLayout } from '../formats/phi3-fuse.ts';
import { readSafetensorsHeader, readSafetensorsTensor, tensorBytesToF32 } from '../formats/safetensors.ts';
import { writeSafetensors } from '../formats/safetensors-write.ts';
import { writeBuffer } from '../gpu/readback.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { type TrainConfig, TrainConfigSchema } from '../schema/train.ts';
import type { LoraAdamW } from './optimizer.ts';
import { DataCursor } from './run.ts';

/** What a checkpoint records about its adapter, so it can be exported without the model. */
export interface AdapterSettings {
  rank: number;
  alpha: number;
  rslora: boolean;
  dropout: number;
  targets: string[];
  /** null when every layer of the model has adapters */
  layers: number[] | null;
  baseModel: string;
  /** Phi-3: the fused projections' layout, so a PEFT export writes qkv_proj / gate_up_proj even without the model. */
  fused?: FusedLayout | null;
}

export interface RunState {
  step: number;
  epoch: number;
  cursor: number;
  config: TrainConfig;
  /** Free-form facts to show when resuming (model, dataset, last losses). */
  info: Record<string, string | number>;
  /** The adapter's settings, so the checkpoint can be exported without the model (absent in old checkpoints). */
  adapter?: AdapterSettings;
}

export async function saveCheckpoint(
  rt: GpuRuntime,
  optimizer: LoraAdamW,
  data: DataCursor,
  config: TrainConfig,
  info: RunState['info'] = {},
  adapter?: AdapterSettings,
): Promise<Uint8Array<ArrayBuffer>> {
  const tensors = [];
  for (const s of optimizer.state) {
    for (const [suffix, buf] of [
      ['', s.param],
      ['.m', s.m],
      ['.v', s.v],
    ] as const) {
      tensors.push({
        name: `${s.name}${suffix}`,
        dtype: 'F32' as const,
        shape: [...s.shape],
        data: await rt.readF32(buf, s.count),
      });
    }
  }
  const state: RunState = {
    step: optimizer.step,
    epoch: data.epoch,
    cursor: data.cursor,
    config,
    info,
    ...(adapter ? { adapter } : {}),
  };
  return writeSafetensors(tensors, { format: 'lora-studio-checkpoint', run: JSON.stringify(state) });
}

/** Reads a checkpoint's run state without touching the GPU. */
export async function readRunState(bytes: Uint8Array): Promise<RunState> {
  const header = await readSafetensorsHeader(new MemoryByteSource(bytes), 'checkpoint');
  if (header.metadata?.format !== 'lora-studio-checkpoint' || !header.metadata.run)
    throw new Error('This file is not a training checkpoint of this app.');
  const raw = JSON.parse(header.metadata.run) as RunState;
  return { ...raw, config: TrainConfigSchema.parse(raw.config) };
}

/**
 * Writes the checkpoint's weights and moments into the optimizer's buffers and returns the run state with a data
 * cursor at the saved position. The adapters must have the same shapes (same model and LoRA settings).
 */
export async function restoreCheckpoint(
  rt: GpuRuntime,
  optimizer: LoraAdamW,
  bytes: Uint8Array,
  trainExamples: number,
): Promise<{ state: RunState; data: DataCursor }> {
  const state = await readRunState(bytes);
  const source = new MemoryByteSource(bytes);
  const header = await readSafetensorsHeader(source, 'checkpoint');
  for (const s of optimizer.state) {
    for (const [suffix, buf] of [
      ['', s.param],
      ['.m', s.m],
      ['.v', s.v],
    ] as const) {
      const info = header.byName.get(`${s.name}${suffix}`);
      if (!info)
        throw new Error(
          `The checkpoint has no ${s.name}${suffix}: it was made with other LoRA settings or another model.`,
        );
      const values = tensorBytesToF32(info.dtype, await readSafetensorsTensor(source, info));
      if (values.length !== s.count)
        throw new Error(`${s.name}${suffix}: the checkpoint holds ${values.length} values, this run has ${s.count}.`);
      writeBuffer(rt.device, buf, values);
    }
  }
  optimizer.step = state.step;
  return { state, data: new DataCursor(trainExamples, state.config.seed, state.epoch, state.cursor) };
}
