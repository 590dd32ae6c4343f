/**
 * Dataset records → what training and evaluation consume: the examples of a split ({ids, mask} under the dataset's
 * settings and maximum length) and the sample prompts of a split (each conversation up to its last answer).
 */
import { trainingExample } from '../data/tokenize.ts';
import type { ModelTokenizer } from '../data/tokenizer.ts';
import type { DatasetRecord, ImportSettings, Split } from '../schema/dataset.ts';
import type { Example } from './batches.ts';
import type { SamplePrompt } from './samples.ts';

/** The records of a split as training examples under the dataset's settings and the config's maximum length. */
export function splitExamples(
  tok: ModelTokenizer,
  records: readonly DatasetRecord[],
  split: Split,
  settings: ImportSettings,
): Example[] {
  return records.flatMap((r) => {
    if (r.split !== split) return [];
    const e = trainingExample(tok, r, settings);
    return e ? [e] : [];
  });
}

/** The first `count` chat records of a split as prompts: the conversation up to its last answer. */
export function samplePrompts(records: readonly DatasetRecord[], split: Split, count: number): SamplePrompt[] {
  return records
    .filter((r): r is Extract<DatasetRecord, { kind: 'chat' }> => r.split === split && r.kind === 'chat')
    .slice(0, count)
    .map((r) => ({ messages: r.messages.slice(0, r.messages.map((x) => x.role).lastIndexOf('assistant')) }))
    .filter((p) => p.messages.length > 0);
}
