/**
 * Sample generations at evaluation: greedy answers to a few validation prompts, decoded, and — when the dataset has a
 * validator (ASP, DOT, JSON, SQL) — checked, giving the validity rate the loss alone does not show. Prompts are
 * rendered as training renders them (a system turn folded into the user turn where the template has no system role);
 * a prompt that cannot be answered is reported with its reason and never stops the run.
 */
import type { ModelTokenizer } from '../data/tokenizer.ts';
import { GpuError } from '../gpu/errors.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { generate } from '../model/generate.ts';
import type { ModelEngine } from '../model/model.ts';
import type { Message } from '../schema/dataset.ts';
import { extractCode } from '../validate/extract.ts';
import { getValidator } from '../validate/registry.ts';
import type { Sample } from '../schema/metrics.ts';
import type { ValidatorKind } from '../validate/types.ts';

export interface SamplePrompt {
  /** The conversation up to (not including) the answer. */
  messages: Message[];
}

export type { Sample };

export interface SampleReport {
  samples: Sample[];
  validity: number | null;
}

export async function sampleGenerations(
  rt: GpuRuntime,
  engine: ModelEngine,
  tokenizer: ModelTokenizer,
  prompts: readonly SamplePrompt[],
  opts: { maxNewTokens: number; eosTokenIds: number[]; validator: ValidatorKind | null },
): Promise<SampleReport> {
  const samples: Sample[] = [];
  const room = engine.maxT;
  for (const p of prompts) {
    const prompt = p.messages.at(-1)?.content ?? '';
    let output: string;
    try {
      const ids = tokenizer.encode(tokenizer.renderChatFolded(p.messages, { addGenerationPrompt: true }).text, false);
      if (ids.length > room) continue; // a prompt longer than the engine's rows is skipped, not cut
      const r = await generate(rt, engine, ids, {
        maxNewTokens: opts.maxNewTokens,
        temperature: 0,
        eosTokenIds: opts.eosTokenIds,
      });
      output = tokenizer.decode(
        r.tokens.filter((t) => !opts.eosTokenIds.includes(t)),
        true,
      );
    } catch (err) {
      // A GPU failure is not the prompt's fault: let the run handle it (it saves what it has).
      if (err instanceof GpuError) throw err;
      samples.push({
        prompt,
        output: '',
        valid: null,
        error: `could not answer this prompt: ${err instanceof Error ? err.message : String(err)}`,
      });
      continue;
    }
    if (!opts.validator) {
      samples.push({ prompt, output, valid: null });
      continue;
    }
    const result = await getValidator(opts.validator).validate(extractCode(output, opts.validator).code);
    samples.push(
      result.ok
        ? { prompt, output, valid: true }
        : { prompt, output, valid: false, error: result.errors[0]?.message ?? 'invalid' },
    );
  }
  const checked = samples.filter((s) => s.valid !== null);
  return { samples, validity: checked.length > 0 ? checked.filter((s) => s.valid).length / checked.length : null };
}
