/** Node-only: a PEFT adapter folder (adapter_config.json + adapter_model.safetensors) as GPU LoRA state. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeFileByteSource } from '../formats/byte-source-node.ts';
import { readPeftAdapter } from '../formats/peft.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import type { ModelDescription } from './config.ts';
import { loraFromPeft } from './lora-peft.ts';
import type { ModelLora } from './lora-state.ts';

export async function loadPeftDir(
  rt: GpuRuntime,
  d: ModelDescription,
  dir: string,
  owner = 'lora',
): Promise<ModelLora> {
  const weights = await NodeFileByteSource.open(join(dir, 'adapter_model.safetensors'));
  try {
    return loraFromPeft(
      rt,
      d,
      await readPeftAdapter(await readFile(join(dir, 'adapter_config.json'), 'utf8'), weights),
      owner,
    );
  } finally {
    await weights.close();
  }
}
