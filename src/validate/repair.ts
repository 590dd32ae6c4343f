/**
 * Synthetic repair data: from valid answers, make broken variants (`./corrupt.ts`), run the
 * validator, keep only the variants it rejects, and make records whose prompt holds the broken
 * code with the validator's exact error text and whose answer is the original answer.
 *
 * As a dataset transform it maps `{prompt, answer}` pairs to pairs and chat records
 * (`{messages: [{role, content}]}`) to chat records (the system message is kept; the last user
 * turn becomes the repair prompt; the last assistant turn is the answer).
 */
import { corruptVariants } from './corrupt.ts';
import { extractCode } from './extract.ts';
import { VALIDATORS } from './registry.ts';
import { formatErrors, type Validator, type ValidatorKind } from './types.ts';

export interface RepairSource {
  /** The original task (the prompt that produced the answer), shown in the repair prompt. */
  task?: string;
  /** A system message to carry over to chat records. */
  system?: string;
  /** The original, valid answer. */
  answer: string;
}

export interface RepairMeta {
  kind: ValidatorKind;
  corruption: string;
  /** What the corruption changed. */
  change: string;
  /** The validator's exact error text, as it appears in the prompt. */
  error: string;
  /** Index of the source record (in the records given to `repairTransform`). */
  source: number;
}

export interface RepairPair {
  prompt: string;
  answer: string;
  meta: RepairMeta;
}

export interface ChatMessage {
  role: string;
  content: string;
}

export interface RepairChat {
  messages: ChatMessage[];
  meta: RepairMeta;
}

export interface RepairOptions {
  seed?: number;
  /** Variants tried per corruption per answer (default 1). */
  perCorruption?: number;
  /** Put the original task in the repair prompt (default true). */
  includeTask?: boolean;
}

export interface RepairStats {
  sources: number;
  /** Sources skipped because the original does not validate. */
  invalidSources: number;
  /** Variants made, per corruption. */
  tried: Record<string, number>;
  /** Variants the validator rejected (kept), per corruption. */
  kept: Record<string, number>;
}

export function repairPrompt(
  kind: ValidatorKind,
  broken: string,
  error: string,
  validatorLabel: string,
  task?: string,
): string {
  const info = VALIDATORS[kind];
  const parts: string[] = [];
  if (task && task.trim()) parts.push(`Task:\n${task.trim()}`);
  parts.push(`This ${info.language} is rejected by ${validatorLabel}:\n\n\`\`\`${info.fence}\n${broken}\n\`\`\``);
  parts.push(`${validatorLabel} reports:\n\n\`\`\`\n${error}\n\`\`\``);
  parts.push(`Write the corrected ${info.language}.`);
  return parts.join('\n\n');
}

/** Repair pairs for a list of valid answers. Invalid originals are skipped and counted. */
export async function makeRepairPairs(
  kind: ValidatorKind,
  sources: readonly RepairSource[],
  validator: Validator,
  options: RepairOptions = {},
): Promise<{ records: RepairPair[]; stats: RepairStats }> {
  if (validator.kind !== kind) throw new Error(`validator is for ${validator.kind}, not ${kind}`);
  const seed = options.seed ?? 1;
  const stats: RepairStats = { sources: sources.length, invalidSources: 0, tried: {}, kept: {} };
  const records: RepairPair[] = [];
  for (let i = 0; i < sources.length; i++) {
    const src = sources[i]!;
    const code = extractCode(src.answer, kind).code;
    if (!(await validator.validate(code)).ok) {
      stats.invalidSources++;
      continue;
    }
    for (const variant of corruptVariants(kind, code, seed + i * 7919, options.perCorruption ?? 1)) {
      stats.tried[variant.corruption] = (stats.tried[variant.corruption] ?? 0) + 1;
      const result = await validator.validate(variant.text);
      if (result.ok) continue;
      stats.kept[variant.corruption] = (stats.kept[variant.corruption] ?? 0) + 1;
      const error = formatErrors(result);
      const task = options.includeTask === false ? undefined : src.task;
      records.push({
        prompt: repairPrompt(kind, variant.text, error, validator.label, task),
        answer: src.answer,
        meta: { kind, corruption: variant.corruption, change: variant.description, error, source: i },
      });
    }
  }
  return { records, stats };
}

// ---------------------------------------------------------------- dataset transform

export type DatasetRecord = { prompt: string; answer: string } | { messages: ChatMessage[] };

export function isChatRecord(r: DatasetRecord): r is { messages: ChatMessage[] } {
  return Array.isArray((r as { messages?: unknown }).messages);
}

/** The task, system message and answer of a pair or chat record (undefined without an answer). */
export function sourceOf(record: DatasetRecord): RepairSource | undefined {
  if (!isChatRecord(record)) return { task: record.prompt, answer: record.answer };
  const msgs = record.messages;
  let a = msgs.length - 1;
  while (a >= 0 && msgs[a]!.role !== 'assistant') a--;
  if (a < 0) return undefined;
  let u = a - 1;
  while (u >= 0 && msgs[u]!.role !== 'user') u--;
  const system = msgs.find((m) => m.role === 'system')?.content;
  const out: RepairSource = { answer: msgs[a]!.content };
  if (u >= 0) out.task = msgs[u]!.content;
  if (system !== undefined) out.system = system;
  return out;
}

/**
 * The dataset transform: records in, repair records out, in the same shape (pairs → pairs,
 * chat → chat with the source's system message). Records without an answer are skipped.
 */
export async function repairTransform(
  kind: ValidatorKind,
  records: readonly DatasetRecord[],
  validator: Validator,
  options: RepairOptions = {},
): Promise<{ records: Array<RepairPair | RepairChat>; stats: RepairStats }> {
  const sources: RepairSource[] = [];
  const chat: boolean[] = [];
  const recordIndex: number[] = [];
  records.forEach((r, i) => {
    const s = sourceOf(r);
    if (!s) return;
    sources.push(s);
    chat.push(isChatRecord(r));
    recordIndex.push(i);
  });
  const { records: pairs, stats } = await makeRepairPairs(kind, sources, validator, options);
  const out = pairs.map((p): RepairPair | RepairChat => {
    const meta = { ...p.meta, source: recordIndex[p.meta.source]! };
    if (!chat[p.meta.source]) return { ...p, meta };
    const system = sources[p.meta.source]!.system;
    const messages: ChatMessage[] = [];
    if (system !== undefined) messages.push({ role: 'system', content: system });
    messages.push({ role: 'user', content: p.prompt }, { role: 'assistant', content: p.answer });
    return { messages, meta };
  });
  return { records: out, stats };
}
