/**
 * Models known to work: the families the engine supports, in sizes people fine-tune on one GPU.
 * Each entry carries its real config.json (src/model/catalog/*.json), so sizes and memory plans are exact.
 */
import gemma2_2b from './catalog/gemma-2-2b-it.json';
import gemma_2b from './catalog/gemma-2b-it.json';
import llama32_1b from './catalog/Llama-3.2-1B-Instruct.json';
import llama32_3b from './catalog/Llama-3.2-3B-Instruct.json';
import llama3_8b from './catalog/Meta-Llama-3-8B-Instruct.json';
import mistral7b from './catalog/Mistral-7B-Instruct-v0.2.json';
import phi3mini from './catalog/Phi-3-mini-4k-instruct.json';
import qwen25_05b from './catalog/Qwen2.5-0.5B-Instruct.json';
import qwen25_15b from './catalog/Qwen2.5-1.5B-Instruct.json';
import qwen25_7b from './catalog/Qwen2.5-7B-Instruct.json';
import qwen3_06b from './catalog/Qwen3-0.6B.json';
import smol135 from './catalog/SmolLM2-135M-Instruct.json';
import smol360 from './catalog/SmolLM2-360M-Instruct.json';
import { type ModelDescription, parameterCount, parseModelConfig } from './config.ts';

export interface CatalogEntry {
  repo: string;
  /** Gated on the Hub: the user must accept the license there first. */
  gated: boolean;
  config: ModelDescription;
  parameters: number;
  /** Bytes of the safetensors weights as published (bf16/f32). */
  downloadBytes: number;
}

const RAW: [string, unknown, boolean][] = [
  ['HuggingFaceTB/SmolLM2-135M-Instruct', smol135, false],
  ['HuggingFaceTB/SmolLM2-360M-Instruct', smol360, false],
  ['Qwen/Qwen2.5-0.5B-Instruct', qwen25_05b, false],
  ['Qwen/Qwen3-0.6B', qwen3_06b, false],
  ['meta-llama/Llama-3.2-1B-Instruct', llama32_1b, true],
  ['Qwen/Qwen2.5-1.5B-Instruct', qwen25_15b, false],
  ['google/gemma-2-2b-it', gemma2_2b, true],
  ['google/gemma-2b-it', gemma_2b, true],
  ['meta-llama/Llama-3.2-3B-Instruct', llama32_3b, true],
  ['microsoft/Phi-3-mini-4k-instruct', phi3mini, false],
  ['mistralai/Mistral-7B-Instruct-v0.2', mistral7b, true],
  ['Qwen/Qwen2.5-7B-Instruct', qwen25_7b, false],
  ['meta-llama/Meta-Llama-3-8B-Instruct', llama3_8b, true],
];

function bytesPerParam(dtype: string | null): number {
  return dtype && dtype.includes('32') ? 4 : 2;
}

export const CATALOG: CatalogEntry[] = RAW.map(([repo, json, gated]) => {
  const config = parseModelConfig(json);
  const parameters = parameterCount(config);
  return { repo, gated, config, parameters, downloadBytes: parameters * bytesPerParam(config.torchDtype) };
});
