/**
 * Dataset steps after the split that add rows derived from existing ones, each new row in its source's split (and
 * its source's group), so nothing derived from a validation problem is ever trained on:
 *
 * - repair pairs (src/validate/repair.ts): a valid answer broken on purpose, the validator's exact message, and the
 *   original as the answer; chat rows keep their system prompt (a problem folder's ASP-expert prompt included);
 * - prompt variants from a template list (`{prompt}` stands for the original user turn), e.g. the five tones of
 *   the ASP distillation pipeline. User-written rewrites need no step: put them in the problem folder as sibling
 *   files (NL.casual.txt beside NL.txt), and the split by source keeps them with their problem.
 */
import type { ChatRecord, DatasetRecord, Split } from '../schema/dataset.ts';
import { type RepairOptions, type RepairStats, repairTransform } from '../validate/repair.ts';
import type { Validator, ValidatorKind } from '../validate/types.ts';

export interface AugmentCounts {
  train: number;
  valid: number;
  test: number;
}

const SPLITS: readonly Split[] = ['train', 'valid', 'test'];

/**
 * Repair pairs made split by split from the chat records' answers: each pair is in its source's split, with its
 * source's provenance. Returns the records with the pairs after them.
 */
export async function addRepairPairs(
  records: readonly DatasetRecord[],
  kind: ValidatorKind,
  validator: Validator,
  options: RepairOptions = {},
): Promise<{ records: DatasetRecord[]; added: AugmentCounts; stats: RepairStats[] }> {
  const out: DatasetRecord[] = [...records];
  const added: AugmentCounts = { train: 0, valid: 0, test: 0 };
  const stats: RepairStats[] = [];
  for (const split of SPLITS) {
    const sources = records.filter((r): r is ChatRecord => r.kind === 'chat' && r.split === split);
    if (sources.length === 0) continue;
    const made = await repairTransform(
      kind,
      sources.map((r) => ({ messages: r.messages })),
      validator,
      options,
    );
    stats.push(made.stats);
    for (const p of made.records) {
      if (!('messages' in p)) continue;
      const from = sources[p.meta.source]!;
      out.push({
        kind: 'chat',
        messages: p.messages.map((m) => ({
          role: m.role as ChatRecord['messages'][number]['role'],
          content: m.content,
        })),
        source: from.source,
        split,
      });
      added[split]++;
    }
  }
  return { records: out, added, stats };
}

export interface VariantTemplate {
  name: string;
  /** The rewritten user turn; `{prompt}` is replaced by the original one. */
  template: string;
}

/**
 * Parses a template list: a JSON array of strings or of {name, template}, or plain text with one template per
 * non-empty line. Every template must contain `{prompt}`.
 */
export function parseVariantTemplates(text: string): VariantTemplate[] {
  const trimmed = text.trim();
  let list: VariantTemplate[];
  if (trimmed.startsWith('[')) {
    const raw = JSON.parse(trimmed) as unknown;
    if (!Array.isArray(raw)) throw new Error('the variant templates must be a JSON array');
    list = raw.map((t, i) => {
      if (typeof t === 'string') return { name: `variant${i + 1}`, template: t };
      const o = t as { name?: unknown; template?: unknown };
      if (typeof o?.template !== 'string')
        throw new Error(`variant template ${i + 1} must be a string or {"name", "template"}`);
      return { name: typeof o.name === 'string' ? o.name : `variant${i + 1}`, template: o.template };
    });
  } else {
    list = trimmed
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .map((template, i) => ({ name: `variant${i + 1}`, template }));
  }
  if (list.length === 0) throw new Error('the variant template list is empty');
  const bad = list.filter((t) => !t.template.includes('{prompt}'));
  if (bad.length > 0)
    throw new Error(
      `variant template ${bad.map((t) => `"${t.name}"`).join(', ')} has no {prompt}: write where the original request goes`,
    );
  return list;
}

/**
 * One new chat record per template and chat record, its last user turn rewritten by the template; the answer, the
 * system prompt, the split and the provenance are the source's.
 */
export function addPromptVariants(
  records: readonly DatasetRecord[],
  templates: readonly VariantTemplate[],
): { records: DatasetRecord[]; added: AugmentCounts } {
  const out: DatasetRecord[] = [...records];
  const added: AugmentCounts = { train: 0, valid: 0, test: 0 };
  for (const r of records) {
    if (r.kind !== 'chat') continue;
    const u = r.messages.map((m) => m.role).lastIndexOf('user');
    if (u < 0) continue;
    for (const t of templates) {
      const content = t.template.split('{prompt}').join(r.messages[u]!.content);
      out.push({ ...r, messages: r.messages.map((m, i) => (i === u ? { ...m, content } : m)) });
      added[r.split]++;
    }
  }
  return { records: out, added };
}
