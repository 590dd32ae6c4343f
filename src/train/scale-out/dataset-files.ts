/**
 * train.jsonl / valid.jsonl of the scale-out folder: the rows exactly as the run saw them. Chat rows are written in
 * the conversational `messages` format after the import's changes (system prompt added, fields mapped, duplicates
 * removed) and after the fold of a system turn the chat template refuses (what training renders); raw text is written
 * as `text` windows. With the model's tokenizer, rows the run left out (too long under the drop policy, or no token
 * to learn) are left out here too, so the files hold the same rows in the same split as the run's examples.
 */
import { trainingExample } from '../../data/tokenize.ts';
import type { ModelTokenizer } from '../../data/tokenizer.ts';
import type { DatasetRecord, ImportSettings } from '../../schema/dataset.ts';

export interface DatasetFileCounts {
  train: number;
  valid: number;
  /** Rows of the train and valid splits the run did not train or evaluate on (too long, nothing to learn). */
  leftOut: number;
  /** Conversations written with their system turn folded into the first user turn. */
  folded: number;
}

/** One JSONL row: {"messages": [...]} or {"text": ...}. */
export function scaleOutRow(record: DatasetRecord, tok: ModelTokenizer | null): { row: string; folded: boolean } {
  if (record.kind === 'text') return { row: JSON.stringify({ text: record.text }), folded: false };
  const rendered = tok?.template ? tok.renderChatFolded(record.messages) : null;
  const messages = rendered?.messages ?? record.messages;
  return {
    row: JSON.stringify({ messages: messages.map((m) => ({ role: m.role, content: m.content })) }),
    folded: rendered?.systemFolded ?? false,
  };
}

/**
 * The two files' text and counts. `settings` are the run's (maxLength = the config's); without a tokenizer every row
 * of the two splits is written (the model is not at hand to tell which ones the run left out).
 */
export function datasetFiles(
  records: readonly DatasetRecord[],
  settings: ImportSettings,
  tok: ModelTokenizer | null,
): { train: string; valid: string; counts: DatasetFileCounts } {
  const lines: Record<'train' | 'valid', string[]> = { train: [], valid: [] };
  const counts: DatasetFileCounts = { train: 0, valid: 0, leftOut: 0, folded: 0 };
  for (const r of records) {
    if (r.split !== 'train' && r.split !== 'valid') continue;
    if (tok && trainingExample(tok, r, settings) === null) {
      counts.leftOut++;
      continue;
    }
    const { row, folded } = scaleOutRow(r, tok);
    lines[r.split].push(row);
    counts[r.split]++;
    if (folded) counts.folded++;
  }
  const text = (l: string[]) => (l.length > 0 ? `${l.join('\n')}\n` : '');
  return { train: text(lines.train), valid: text(lines.valid), counts };
}
