/**
 * Python string semantics in chat templates: `strip/lstrip/rstrip(chars)` and `trim(chars)` remove only the given
 * characters, and without an argument Python's whitespace (`str.isspace`), wherever the call sits in the template.
 * Expected values are what CPython's `str.strip` family returns (its documented semantics: remove leading/trailing
 * characters that are in `chars`; with None, those for which `isspace()` is true), written out by hand.
 */
import { Template } from '@huggingface/jinja';
import { describe, expect, test } from 'vitest';
import { ChatTemplate } from '../../../src/data/chat-template.ts';
import { pythonStrip } from '../../../src/data/jinja-python.ts';

const render = (source: string, vars: Record<string, unknown> = {}) =>
  new ChatTemplate(source, {}).render([], { extra: vars });

describe('pythonStrip', () => {
  test('with chars: only those characters, from the chosen side', () => {
    expect(pythonStrip('\n\n  - item\n', '\n', 'left')).toBe('  - item\n');
    expect(pythonStrip('\n\n  - item\n', '\n', 'right')).toBe('\n\n  - item');
    expect(pythonStrip('\n\n  - item\n', '\n')).toBe('  - item');
    expect(pythonStrip('xyabcyx', 'xy')).toBe('abc');
    expect(pythonStrip('aaa', 'a')).toBe('');
    expect(pythonStrip('abc', '')).toBe('abc');
  });

  test('chars are code points: an emoji is one character, not two halves', () => {
    expect(pythonStrip('😀😀hi😀', '😀')).toBe('hi');
    // U+1F601 shares its high surrogate with U+1F600 and must stay
    expect(pythonStrip('😁hi', '😀')).toBe('😁hi');
  });

  test("without chars: Python's whitespace set, not JavaScript's", () => {
    // str.isspace() is true for U+001C..U+001F and U+0085 (JavaScript's trim keeps them) ...
    expect(pythonStrip('\x1c\x1d\x1e\x1f\x85 a \x85', null)).toBe('a');
    // ... and false for U+FEFF (JavaScript's trim removes it) and U+200B
    expect(pythonStrip('\ufeffa\ufeff', null)).toBe('\ufeffa\ufeff');
    expect(pythonStrip('\u200ba', null)).toBe('\u200ba');
    expect(pythonStrip('\u3000\u00a0\u2028a\t\r\n\v\f', null)).toBe('a');
  });
});

describe('templates render with Python string methods', () => {
  test('@huggingface/jinja alone ignores the argument (the library bug this fixes; when it is fixed upstream, this fails and the override can go)', () => {
    const raw = new Template(`{{ s.lstrip('\\n') }}|{{ s.rstrip('x') }}`).render({ s: '\n\n  - item x' });
    expect(raw).toBe('- item x|\n\n  - item x'); // Python: '  - item x|\n\n  - item '
  });

  test('methods with and without chars', () => {
    const s = '\n\n  - item x\n';
    expect(render(`{{ s.lstrip('\\n') }}|{{ s.rstrip('\\n') }}|{{ s.strip('\\n') }}|{{ s.strip() }}`, { s })).toBe(
      '  - item x\n|\n\n  - item x|  - item x|- item x',
    );
    expect(render(`{{ s.rstrip('\\nx ') }}`, { s })).toBe('\n\n  - item');
  });

  test('the trim filter is Python strip too, with and without chars', () => {
    expect(render(`[{{ s | trim }}][{{ s | trim('\\n') }}]`, { s: '\n \x85a\ufeff \n' })).toBe(
      '[a\ufeff][ \x85a\ufeff ]',
    );
    expect(render(`[{{ 3 | trim }}][{{ nothing | trim }}]`)).toBe('[3][]');
  });

  test('calls nested in expressions, sets, loops, conditions, macros, literals and filter chains', () => {
    const source = [
      `{%- macro clean(x) %}{{ x.lstrip('-') }}{% endmacro %}`,
      `{%- for m in messages_ %}`,
      `{%- set c = m.split('</think>')[-1].lstrip('\\n') %}`,
      `{%- if c.strip('\\n') == c.lstrip('\\n') %}[{{ clean(c) }}]{% endif %}`,
      `{%- endfor %}`,
      `{{- {'k': '\\nv'.lstrip('\\n')}['k'] }}{{ ['\\nw'.lstrip('\\n')] | first }}{{ ' ab ' | trim | upper }}`,
    ].join('');
    expect(render(source, { messages_: ['<think>r</think>\n\n--  x', '\n-y'] })).toBe('[  x][y]vwAB');
  });

  test('a string method on something that is not a string fails as in Python', () => {
    expect(() => render(`{{ none.strip() }}`)).toThrow(/strip\(\) needs a string, got None/);
    expect(() => render(`{{ 'a'.strip(3) }}`)).toThrow(/strip arg must be None or str/);
  });
});
