/**
 * Hostile tokenizer.json and chat templates (issue #12): malformed merges / added_tokens / vocab give messages naming
 * the file and field instead of raw JavaScript errors; a catastrophic pre-tokenizer regex is refused within a time
 * budget; a template that loops a billion times, recurses or grows a string without end stops with a clear message.
 */
import { describe, expect, it } from 'vitest';
import { ChatTemplate, ChatTemplateError } from '../../../src/data/chat-template.ts';
import { TemplateBudgetError } from '../../../src/data/template-budget.ts';
import { loadTokenizer, ModelTokenizer } from '../../../src/data/tokenizer.ts';
import { buildFixtureTokenizer } from '../../fixtures/tokenizer.ts';

const messages = [
  { role: 'user' as const, content: 'hi' },
  { role: 'assistant' as const, content: 'hello' },
];

function fixture(): { tokenizer: Record<string, unknown>; config: Record<string, unknown> } {
  const f = buildFixtureTokenizer('chatml', 40);
  return JSON.parse(JSON.stringify({ tokenizer: f.tokenizer, config: f.config })) as {
    tokenizer: Record<string, unknown>;
    config: Record<string, unknown>;
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a tokenizer.json edited freely to make it hostile
type Tok = Record<string, any>;

describe('tokenizer.json', () => {
  it('the fixture tokenizer is accepted as it is', () => {
    const f = fixture();
    expect(new ModelTokenizer(f).encode('hello world').length).toBeGreaterThan(0);
  });

  it.each([
    ['a merge that is not "a b"', (t: Tok) => (t.model.merges[3] = 'onlyone'), /model\.merges\[3\]/],
    ['a merge that is a number', (t: Tok) => (t.model.merges[0] = 42), /model\.merges\[0\]/],
    ['an added token without an id', (t: Tok) => t.added_tokens.push({ content: '<x>' }), /added_tokens\[\d+\]\.id/],
    ['an added token id of 1e9', (t: Tok) => (t.added_tokens[0].id = 1e9), /added_tokens\[0\]\.id/],
    [
      'an added token that is a string',
      (t: Tok) => t.added_tokens.push('tok'),
      /added_tokens\[\d+\] must be an object/,
    ],
    [
      'a BPE vocab given as an array',
      (t: Tok) => (t.model.vocab = Object.keys(t.model.vocab).map((k) => [k, 0])),
      /model\.vocab of a BPE model must be an object/,
    ],
    ['a vocab id that is negative', (t: Tok) => (t.model.vocab.a = -1), /model\.vocab\["a"\]/],
    ['an unknown model type', (t: Tok) => (t.model.type = 'Nope'), /model\.type "Nope"/],
  ])('%s is refused naming tokenizer.json and the field', (_, edit, field) => {
    const f = fixture();
    edit(f.tokenizer);
    expect(() => new ModelTokenizer(f)).toThrow(/^tokenizer\.json: /);
    expect(() => new ModelTokenizer(f)).toThrow(field);
  });

  it('a catastrophic pre-tokenizer regex is refused within a time budget', () => {
    const f = fixture();
    f.tokenizer.pre_tokenizer = {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: '(a+)+$' }, behavior: 'Isolated', invert: false },
        f.tokenizer.pre_tokenizer,
      ],
    };
    const t0 = performance.now();
    expect(() => new ModelTokenizer(f)).toThrow(
      /tokenizer\.json: the regular expression \/\(a\+\)\+.*\/ takes over \d+ ms/,
    );
    expect(performance.now() - t0).toBeLessThan(20_000);
  });

  it('deeply nested quantifiers in a normalizer Replace (≈50× per character) are refused, not run for minutes', () => {
    const f = fixture();
    f.tokenizer.normalizer = { type: 'Replace', pattern: { Regex: '((((((((((a*)*)*)*)*)*)*)*)*)*)*b' }, content: 'x' };
    const t0 = performance.now();
    expect(() => new ModelTokenizer(f)).toThrow(
      /tokenizer\.json: the regular expression .* backtracks catastrophically/,
    );
    expect(performance.now() - t0).toBeLessThan(20_000);
  }, 30_000);

  it('invalid JSON names the file', async () => {
    const f = fixture();
    const files: Record<string, string> = {
      'tokenizer.json': JSON.stringify(f.tokenizer).slice(0, 100),
      'tokenizer_config.json': JSON.stringify(f.config),
    };
    await expect(loadTokenizer(async (n) => files[n] ?? null)).rejects.toThrow(/tokenizer\.json: is not valid JSON/);
    files['tokenizer.json'] = JSON.stringify(f.tokenizer);
    files['tokenizer_config.json'] = '{"chat_template": ';
    await expect(loadTokenizer(async (n) => files[n] ?? null)).rejects.toThrow(
      /tokenizer_config\.json: is not valid JSON/,
    );
  });
});

describe('chat template budget', () => {
  const render = (source: string) =>
    new ChatTemplate(source, {}, 'tokenizer_config.json chat_template').render(messages);

  it.each([
    ['a loop of a billion steps', '{% for i in range(1000000000) %}x{% endfor %}', /range\(\) of 1000000000 numbers/],
    [
      'nested loops of 1e10 steps',
      '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}',
      /did not finish within 1,000,000 steps/,
    ],
    ['endless recursion', '{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}', /nests deeper|recurses too deep/],
    [
      'a string doubled 40 times',
      "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
      /built a string of [\d,]+ characters/,
    ],
  ])(
    '%s stops with a clear message naming where the template is',
    (_, source, why) => {
      const t0 = performance.now();
      let thrown: unknown = null;
      try {
        render(source);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ChatTemplateError);
      expect((thrown as Error).message).toMatch(/^tokenizer_config\.json chat_template: /);
      expect((thrown as Error).message).toMatch(why);
      // one render up to the step budget: about a second on an idle core, many times that on a shared machine
      expect(performance.now() - t0).toBeLessThan(60_000);
    },
    60_000,
  );

  it('raise_exception keeps the template own words, and ordinary templates render as before', () => {
    expect(() => render("{{ raise_exception('System role not supported') }}")).toThrow(/^System role not supported$/);
    expect(render('{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}')).toBe('<user>hi<assistant>hello');
    expect(render("{{ strftime_now('%Y') | length }}")).toBe('4');
    expect(TemplateBudgetError.name).toBe('TemplateBudgetError');
  });
});
