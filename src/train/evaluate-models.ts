/**
 * Evaluation of a model on validation data: the mean loss over every trained token and greedy sample generations
 * checked by the dataset's validator (validity rate). The training session's evaluations and `cli evaluate` (base
 * model vs one or several adapters on the same data) share it, so a validity rate means the same thing in both.
 */
import type { ModelTokenizer } from '../data/tokenizer.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import type { ModelDescription } from '../model/config.ts';
import { createLora, type ModelLora, peftInit } from '../model/lora-state.ts';
import { ModelEngine } from '../model/model.ts';
import type { ModelWeights } from '../model/weights-types.ts';
import type { DatasetRecord, ImportSettings, Split } from '../schema/dataset.ts';
import type { ValidatorKind } from '../validate/types.ts';
import type { Example } from './batches.ts';
import { evaluate } from './run.ts';
import { samplePrompts, splitExamples } from './examples.ts';
import { type Sample, sampleGenerations } from './samples.ts';

export interface SampleOptions {
  count: number;
  maxNewTokens: number;
  validator: ValidatorKind | null;
}

export interface ModelEvaluation {
  /** 'base', or the adapter's name (its folder). */
  name: string;
  /** Mean loss per trained token (NaN when the examples have none). */
  loss: number;
  tokens: number;
  examples: number;
  samples: Sample[];
  /** Share of the checked samples the validator accepts (null without a validator or samples). */
  validity: number | null;
}

export interface Candidate {
  name: string;
  /** Loads the adapter (under `owner`); absent: the base model alone. */
  load?: (rt: GpuRuntime, desc: ModelDescription, owner: string) => Promise<ModelLora>;
}

export interface EvaluateModelsInputs {
  rt: GpuRuntime;
  weights: ModelWeights;
  tokenizer: ModelTokenizer;
  records: readonly DatasetRecord[];
  /** The dataset's settings (mask, over-length policy, maximum length). */
  settings: ImportSettings;
  split: Split;
  candidates: readonly Candidate[];
  samples: SampleOptions;
  eosTokenIds: number[];
  microBatch?: number;
  onResult?: (r: ModelEvaluation) => void | Promise<void>;
}

/**
 * The base model is measured through an adapter whose B is zero (PEFT's init): its update is exactly zero, so the
 * loss is the base model's, through the same loss code as the adapters'.
 */
function zeroAdapter(rt: GpuRuntime, d: ModelDescription, owner: string): ModelLora {
  return createLora(rt, d, { rank: 1, alpha: 1, rslora: false, targets: ['q_proj'], layers: [0] }, peftInit(0), owner);
}

/** Loss and samples of each candidate on the same split, in order. */
export async function evaluateModels(i: EvaluateModelsInputs): Promise<ModelEvaluation[]> {
  const examples: Example[] = splitExamples(i.tokenizer, i.records, i.split, i.settings);
  const prompts = samplePrompts(i.records, i.split, i.samples.count);
  if (examples.length === 0 && prompts.length === 0)
    throw new Error(
      `The ${i.split} split has no example to evaluate: check --split (train, valid or test) and the dataset.`,
    );
  const B = Math.max(1, Math.min(i.microBatch ?? 1, examples.length));
  const promptTokens = prompts.map(
    (p) =>
      i.tokenizer.encode(i.tokenizer.renderChatFolded(p.messages, { addGenerationPrompt: true }).text, false).length,
  );
  const T = Math.max(2, ...examples.map((e) => e.ids.length), ...promptTokens.map((n) => n + i.samples.maxNewTokens));
  const out: ModelEvaluation[] = [];
  for (const [k, c] of i.candidates.entries()) {
    const owner = `evaluate/${k}`;
    try {
      const lora = c.load ? await c.load(i.rt, i.weights.desc, owner) : zeroAdapter(i.rt, i.weights.desc, owner);
      const engine = new ModelEngine(i.rt, i.weights, B, T, lora, 'checkpointed');
      try {
        const v = examples.length > 0 ? await evaluate(engine, examples, B, T) : { loss: Number.NaN, tokens: 0 };
        const s = await sampleGenerations(i.rt, engine, i.tokenizer, prompts, {
          maxNewTokens: i.samples.maxNewTokens,
          eosTokenIds: i.eosTokenIds,
          validator: i.samples.validator,
        });
        const r: ModelEvaluation = {
          name: c.name,
          loss: v.loss,
          tokens: v.tokens,
          examples: examples.length,
          samples: s.samples,
          validity: s.validity,
        };
        out.push(r);
        await i.onResult?.(r);
      } finally {
        engine.destroy();
      }
    } finally {
      i.rt.memory.destroyOwner(owner);
    }
  }
  return out;
}
