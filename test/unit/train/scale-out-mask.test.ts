/**
 * train.py's loss masks are the app's: its `encode` (run by python3, no packages) gives the same token ids and the
 * same trained tokens as the trainer's examples (src/data/tokenize.ts) for every row of the exported files, under
 * each mask mode, the truncate policy and raw text. transformers is not installed here, so the tokenizer train.py
 * calls is a stand-in answering with the app's own renders of the chat template and its token ids and offsets
 * (converted to character offsets, as a fast tokenizer's offset_mapping gives them): what is checked is train.py's
 * masking logic — locating answers by rendering prefixes, the end-of-turn rule, the overlap test, length policy.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { trainingExample } from '../../../src/data/tokenize.ts';
import type { ModelTokenizer } from '../../../src/data/tokenizer.ts';
import { type DatasetRecord, type ImportSettingsInput, ImportSettingsSchema } from '../../../src/schema/dataset.ts';
import { trainConfig } from '../../../src/schema/train.ts';
import { scaleOutFiles } from '../../../src/train/scale-out/scale-out.ts';
import { SETTINGS_BEGIN } from '../../../src/train/scale-out/train-py.ts';
import { fixtureTokenizer, importFixture } from '../data/helpers.ts';

/** Python's json.dumps(x, ensure_ascii=False, separators=(",", ":")) is JSON.stringify for these values. */
const key = (x: unknown) => JSON.stringify(x);

/** Character (code point) index of every UTF-8 byte offset of `text`. */
function charIndexOfByte(text: string): Map<number, number> {
  const out = new Map<number, number>([[0, 0]]);
  let bytes = 0;
  let chars = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    chars += 1;
    out.set(bytes, chars);
  }
  return out;
}

/** What the stand-in tokenizer answers: chat renders and encodings, keyed as train.py asks for them. */
function tokenizerSpec(tok: ModelTokenizer, rows: Record<string, unknown>[]) {
  const renders: Record<string, string> = {};
  const encodings: Record<string, { ids: number[]; offsets: [number, number][] }> = {};
  const encode = (text: string, special: boolean) => {
    const ids = tok.encode(text, special);
    // raw text (with BOS from the post-processor): train.py reads the ids only
    if (special) return void (encodings[key([text, special])] = { ids, offsets: [] });
    const bytes = tok.byteOffsets(ids, text);
    if (!bytes) throw new Error('the fixture tokenizer must give byte offsets here');
    const at = charIndexOfByte(text);
    const offsets = ids.map((_, t): [number, number] => [at.get(bytes.starts[t]!)!, at.get(bytes.ends[t]!)!]);
    encodings[key([text, special])] = { ids, offsets };
  };
  for (const row of rows) {
    if ('messages' in row) {
      const messages = row.messages as { role: 'system' | 'user' | 'assistant'; content: string }[];
      for (let i = 0; i <= messages.length; i++)
        for (const gp of [true, false])
          renders[key([messages.slice(0, i), gp])] = tok.renderChat(messages.slice(0, i), { addGenerationPrompt: gp });
      encode(renders[key([messages, false])]!, false);
    } else encode(row.text as string, true);
  }
  return { renders, encodings, specials: tok.specialAdded.map((t) => t.content), eos: tok.eosTokenId };
}

const HARNESS = `
import json, re, sys

class Added:
    def __init__(self, content):
        self.content, self.special = content, True

class StandIn:
    def __init__(self, spec):
        self.spec = spec
        self.added_tokens_decoder = {i: Added(c) for i, c in enumerate(spec["specials"])}
        self.eos_token_id = spec["eos"]

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=False):
        return self.spec["renders"][json.dumps([messages, add_generation_prompt], ensure_ascii=False, separators=(",", ":"))]

    def __call__(self, text, add_special_tokens=False, return_offsets_mapping=False):
        e = self.spec["encodings"][json.dumps([text, add_special_tokens], ensure_ascii=False, separators=(",", ":"))]
        return {"input_ids": list(e["ids"]), "offset_mapping": [tuple(o) for o in e["offsets"]]}

job = json.loads(sys.stdin.read())
ns = {"re": re, "json": json}
exec(job["code"], ns)
ns["DATA"].update(job["data"])
tok = StandIn(job["spec"])
print(json.dumps([ns["encode"](tok, row) for row in job["rows"]]))
`;

/** train.py's settings and masking functions (from the settings block to load_rows). */
function maskingCode(script: string): string {
  const start = script.indexOf(SETTINGS_BEGIN);
  const end = script.indexOf('def load_rows(');
  expect(start).toBeGreaterThan(0);
  expect(end).toBeGreaterThan(start);
  return script.slice(start, end);
}

interface Case {
  name: string;
  folder: string;
  template: 'chatml' | 'llama3';
  settings: ImportSettingsInput;
  /** The run's maximum length (default 2048; -1: the dataset's median length). */
  maxLength?: number;
}

const CASES: Case[] = [
  { name: 'answers (multi-turn chat)', folder: 'chatml_presplit', template: 'chatml', settings: {} },
  { name: 'last answer', folder: 'personas', template: 'chatml', settings: { mask: 'last' } },
  { name: 'every token (llama3)', folder: 'chatml_presplit', template: 'llama3', settings: { mask: 'all' } },
  { name: 'problem folders, system prompt (llama3)', folder: 'asp_benchmark', template: 'llama3', settings: {} },
  // the median length: the longer half is cut (their answers start before the cut), the shorter half kept whole
  { name: 'truncated', folder: 'personas', template: 'chatml', settings: { overLength: 'truncate' }, maxLength: -1 },
  { name: 'raw text windows', folder: 'chapters', template: 'llama3', settings: { maxLength: 64 }, maxLength: 64 },
];

describe("train.py's masks", () => {
  it.each(CASES)('equal the trainer examples: $name', async (c) => {
    const tok = fixtureTokenizer(c.template);
    const imported = await importFixture(c.folder, c.settings, { tokenizer: tok });
    const maxLength = c.maxLength === -1 ? imported.tokens!.p50 : (c.maxLength ?? 2048);
    const config = trainConfig(null, { maxLength });
    const settings = ImportSettingsSchema.parse(imported.settings);
    const run = {
      name: c.name,
      model: { id: 'x', revision: null, modelType: 'qwen2', layers: 2 },
      config,
      settings,
    };
    const { files } = scaleOutFiles({ run, records: imported.records, tokenizer: tok });
    const text = (name: string) => new TextDecoder().decode(files.find((f) => f.name === name)!.bytes);
    const lines = [...text('train.jsonl').split('\n'), ...text('valid.jsonl').split('\n')].filter((l) => l !== '');
    const rows = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.length).toBeGreaterThan(1);
    const job = {
      code: maskingCode(text('train.py')),
      data: {},
      spec: tokenizerSpec(tok, rows),
      rows,
    };
    const out = JSON.parse(execFileSync('python3', ['-c', HARNESS], { input: JSON.stringify(job) }).toString()) as ({
      input_ids: number[];
      labels: number[];
    } | null)[];

    // The trainer's examples of the same rows (as the files hold them: folded, from the run's splits).
    const trained = { ...settings, maxLength: config.maxLength };
    const expected = rows.map((row) => {
      const record: DatasetRecord =
        'messages' in row
          ? {
              kind: 'chat',
              messages: row.messages as never,
              source: { file: 'f', line: 1 },
              split: 'train',
            }
          : { kind: 'text', text: row.text as string, source: { file: 'f', line: 1 }, split: 'train' };
      const e = trainingExample(tok, record, trained);
      return e ? { ids: Array.from(e.ids), mask: Array.from(e.mask) } : null;
    });
    const got = out.map((e) => (e ? { ids: e.input_ids, mask: e.labels.map((l) => (l === -100 ? 0 : 1)) } : null));
    expect(got).toEqual(expected);
    // Something is masked out, except where every token trains.
    const masked = got.flatMap((e) => e?.mask ?? []);
    expect(masked.includes(1)).toBe(true);
    if (c.settings.mask !== 'all' && !c.name.startsWith('raw')) expect(masked.includes(0)).toBe(true);
    if (c.maxLength === -1) expect(got.some((e) => e?.ids.length === maxLength)).toBe(true);
  });
});
