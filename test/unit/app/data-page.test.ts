/**
 * The Data page's plain logic in Node: the settings form and the importer's settings (defaults only
 * from the schema), errors in words, the worker's summary (no records, capped problems, a preview
 * from every source), and dataset names suggested from the chosen paths.
 */
import { describe, expect, test } from 'vitest';
import { defaultForm, parseFieldList, toSettings } from '../../../src/app/data/settings.ts';
import { suggestName } from '../../../src/app/data/text.ts';
import { PREVIEW_RECORDS, SUMMARY_PROBLEMS, summarize } from '../../../src/app/data/worker-api.ts';
import { exportFileName } from '../../../src/app/data/datasets-store.ts';
import { importDataset } from '../../../src/data/import.ts';
import { ImportSettingsSchema } from '../../../src/schema/dataset.ts';
import { importFixture, textFile } from '../data/helpers.ts';

describe('settings form', () => {
  test('the defaults are the schema defaults, and convert back to them exactly', () => {
    const checked = toSettings(defaultForm());
    expect(checked.ok).toBe(true);
    if (checked.ok) expect(ImportSettingsSchema.parse(checked.settings)).toEqual(ImportSettingsSchema.parse({}));
  });

  test('percentages, system prompt modes and the format override map to importer settings', () => {
    const form = {
      ...defaultForm(),
      trainPercent: 70,
      testPercent: 10,
      seed: 7,
      format: 'pairs' as const,
      systemMode: 'custom' as const,
      systemPrompt: 'Be brief.',
    };
    const checked = toSettings(form);
    expect(checked.ok && ImportSettingsSchema.parse(checked.settings)).toMatchObject({
      trainFraction: 0.7,
      testFraction: 0.1,
      seed: 7,
      format: 'pairs',
      systemPrompt: 'Be brief.',
    });
    const none = toSettings({ ...defaultForm(), systemMode: 'none' });
    expect(none.ok && none.settings.systemPrompt).toBe('');
    const dflt = toSettings(defaultForm());
    expect(dflt.ok && 'systemPrompt' in dflt.settings).toBe(false);
  });

  test('wrong values are explained on their own field', () => {
    const sum = toSettings({ ...defaultForm(), trainPercent: 80, testPercent: 30 });
    expect(sum.ok).toBe(false);
    if (!sum.ok) expect(sum.errors.testPercent).toContain('110 %');
    const bad = toSettings({ ...defaultForm(), maxLength: 4, seed: 1.5, trainPercent: Number.NaN });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(Object.keys(bad.errors).sort()).toEqual(['maxLength', 'seed', 'trainPercent']);
  });

  test('prompt field lists', () => {
    expect(parseFieldList(' instruction, input ,,')).toEqual(['instruction', 'input']);
  });
});

describe('worker summary', () => {
  test('no records cross to the page; one preview record per source first', async () => {
    const res = await importFixture('personas');
    const summary = summarize(res);
    expect('records' in summary).toBe(false);
    expect(summary.counts).toEqual(res.counts);
    expect(summary.preview).toHaveLength(PREVIEW_RECORDS);
    expect(new Set(summary.preview.map((r) => r.source.file))).toEqual(new Set(res.sources.map((s) => s.path)));
    expect(structuredClone(summary)).toEqual(summary);
  });

  test('problems are capped; the count stays complete', async () => {
    const lines = Array.from({ length: SUMMARY_PROBLEMS + 50 }, (_, i) => `{"broken": ${i}`).join('\n');
    const res = await importDataset([textFile('many.jsonl', `${lines}\n{"prompt": "q", "completion": "a"}\n`)]);
    const summary = summarize(res);
    expect(res.problems).toHaveLength(SUMMARY_PROBLEMS + 50);
    expect(summary.problems).toEqual(res.problems.slice(0, SUMMARY_PROBLEMS));
    expect(summary.counts.problems).toBe(SUMMARY_PROBLEMS + 50);
  });
});

test('names: the dropped folder, the single file, or the first file and a count', () => {
  expect(suggestName(['asp_benchmark/a/NL.txt', 'asp_benchmark/a/ASP.txt'])).toBe('asp_benchmark');
  expect(suggestName(['train.jsonl'])).toBe('train');
  expect(suggestName(['train.jsonl', 'valid.jsonl'])).toBe('train and 1 more');
  expect(exportFileName({ name: 'a/b: c?' })).toBe('a_b_ c_.jsonl');
});
