/**
 * The pre-flight check of a training run, before anything is loaded onto the GPU: how many epochs and steps the
 * settings mean, how many tokens a step trains at most, the memory plan against the device's buffer limits and a
 * memory budget, and the settings that cannot fit or make no sense — each refused with a sentence saying what to
 * change. One pure function, shared by the Train page and `cli train --dry-run`.
 */
import type { ModelDescription } from '../model/config.ts';
import { modelAllocations } from '../model/allocations.ts';
import { settingsFor, summarize, type MemoryPlan } from '../model/plan.ts';
import type { TrainConfig } from '../schema/train.ts';
import { totalSteps } from './run.ts';

export interface PreflightInputs {
  config: TrainConfig;
  model: ModelDescription;
  /** Training and validation examples of the dataset, and the token length of its longest and all its rows. */
  data: { trainExamples: number; validExamples: number; longestTokens: number; totalTokens: number };
  /** The adapter's limits (GPUSupportedLimits), when known. */
  limits?: { maxBufferSize: number; maxStorageBufferBindingSize: number };
  /** The most GPU memory the user lets a run take, in bytes (WebGPU does not say how much there is). */
  memoryBudgetBytes?: number;
}

export type PreflightData = PreflightInputs['data'];

/** What the Train page shows of a pre-flight (plain data, passed from the worker). */
export interface RunPlan {
  totalBytes: number;
  totalSteps: number;
  epochs: number;
  tokensPerStep: number;
  rowTokens: number;
  problems: string[];
  warnings: string[];
}

export interface Preflight {
  /** Row length the engine is built for: the longest example, at most maxLength (packed: up to maxLength). */
  rowTokens: number;
  totalSteps: number;
  /** Passes over the training split the steps amount to. */
  epochs: number;
  /** Tokens one optimizer step runs through the model at most (micro-batch × accumulation × row length). */
  tokensPerStep: number;
  plan: MemoryPlan;
  /** The largest single GPU buffer of the plan. */
  largestBufferBytes: number;
  /** Why the run cannot start, each a sentence saying what to change; empty when it may. */
  problems: string[];
  /** Things that will work but may surprise (e.g. many epochs over a small dataset). */
  warnings: string[];
}

const GIB = 1024 ** 3;
const size = (b: number) => (b >= GIB ? `${(b / GIB).toFixed(2)} GiB` : `${(b / 1024 ** 2).toFixed(1)} MiB`);
const n = (x: number) => x.toLocaleString('en-US');

/** Above this many tokens through the model per step, a step takes minutes on a laptop GPU. */
export const MAX_TOKENS_PER_STEP = 262_144;

export function preflight(i: PreflightInputs): Preflight {
  const { config: c, model: d, data } = i;
  const problems: string[] = [];
  const warnings: string[] = [];
  const allTokens = Math.max(2, data.totalTokens);
  const rowTokens = Math.max(
    2,
    c.pack ? Math.min(c.maxLength, Math.max(data.longestTokens, allTokens)) : Math.min(c.maxLength, data.longestTokens),
  );
  const rows = c.pack ? Math.max(1, Math.ceil(allTokens / rowTokens)) : data.trainExamples;
  const steps = data.trainExamples > 0 ? totalSteps(c, rows) : 0;
  const perStep = c.microBatch * c.gradAccum;
  const epochs = rows > 0 ? (steps * perStep) / rows : 0;
  const tokensPerStep = perStep * rowTokens;
  const layers = c.lora.layers;
  const settings = settingsFor(d, {
    quant: c.base,
    seq: rowTokens,
    rank: c.lora.rank,
    batch: c.microBatch,
    checkpointing: c.checkpointing,
    targets: c.lora.targets,
    ...(typeof layers === 'object' && !Array.isArray(layers) ? { topLayers: layers.top } : {}),
    ...(i.limits ? { maxBindingBytes: i.limits.maxStorageBufferBindingSize } : {}),
  });
  const allocations = modelAllocations(d, settings);
  const plan = summarize(allocations, settings);
  const largest = allocations.reduce((a, x) => (x.bytes > a.bytes ? x : a), { name: '', bytes: 0 });

  if (data.trainExamples === 0)
    problems.push('The dataset has no training example; import rows or move some from the validation split.');
  if (c.maxLength > d.maxPositions)
    problems.push(
      `Max length ${n(c.maxLength)} is longer than this model's context of ${n(d.maxPositions)} tokens; set it to ${n(d.maxPositions)} or less.`,
    );
  if (c.lora.rank > d.hidden)
    problems.push(
      `Rank ${c.lora.rank} is larger than the model's hidden size ${d.hidden}, so it learns nothing more; use a rank of ${Math.max(1, Math.floor(d.hidden / 4))} or less.`,
    );
  if (data.trainExamples > 0 && !c.pack && c.microBatch > data.trainExamples)
    problems.push(
      `Micro-batch ${c.microBatch} is larger than the ${n(data.trainExamples)} training examples; set it to ${data.trainExamples} or less.`,
    );
  if (tokensPerStep > MAX_TOKENS_PER_STEP)
    problems.push(
      `One step would run ${n(tokensPerStep)} tokens (micro-batch ${c.microBatch} × accumulation ${c.gradAccum} × ${n(rowTokens)} tokens per row), ` +
        `more than ${n(MAX_TOKENS_PER_STEP)}; lower the micro-batch, the accumulation or the max length.`,
    );
  if (i.limits && largest.bytes > Math.min(i.limits.maxBufferSize, i.limits.maxStorageBufferBindingSize))
    problems.push(
      `Its largest GPU buffer (${largest.name}, ${size(largest.bytes)}) is over this GPU's limit of ` +
        `${size(Math.min(i.limits.maxBufferSize, i.limits.maxStorageBufferBindingSize))} per buffer; lower the micro-batch or the max length.`,
    );
  if (i.memoryBudgetBytes !== undefined && plan.total_bytes > i.memoryBudgetBytes)
    problems.push(
      `The run needs about ${size(plan.total_bytes)} of GPU memory, over the budget of ${size(i.memoryBudgetBytes)}; ` +
        'lower the rank, the micro-batch or the max length, turn on gradient checkpointing or a 4-bit base — or raise the budget.',
    );
  if (epochs > 5 && data.trainExamples > 0)
    warnings.push(
      `${n(steps)} steps over ${n(rows)} training rows is ${epochs.toFixed(1)} epochs; the adapter may learn the rows by heart.`,
    );
  return {
    rowTokens,
    totalSteps: steps,
    epochs,
    tokensPerStep,
    plan,
    largestBufferBytes: largest.bytes,
    problems,
    warnings,
  };
}

export function runPlan(p: Preflight): RunPlan {
  const { totalSteps, epochs, tokensPerStep, rowTokens, problems, warnings } = p;
  return { totalBytes: p.plan.total_bytes, totalSteps, epochs, tokensPerStep, rowTokens, problems, warnings };
}
