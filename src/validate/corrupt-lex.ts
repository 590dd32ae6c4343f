/**
 * Just enough lexing for the corruptions in `./corrupt.ts` to touch code and not comments or
 * string contents: every character is marked as code, comment or string, and each string's
 * delimiters are listed. This never decides validity; the real validators do.
 */

export const CODE = 0;
export const COMMENT = 1;
export const STRING = 2;

export interface Lexed {
  /** One entry per UTF-16 unit: CODE, COMMENT or STRING (delimiters count as STRING). */
  mask: Uint8Array;
  /** [open, close] delimiter indices of each string; close is -1 when the string never ends. */
  strings: Array<[number, number]>;
}

interface Rules {
  /** Line comment openers. */
  line: readonly string[];
  /** Block comment [open, close] pairs. */
  block: ReadonlyArray<readonly [string, string]>;
  /** String delimiters (open = close). */
  quotes: readonly string[];
  /** `\` escapes inside strings (else a doubled quote escapes, as in SQL). */
  backslash: boolean;
  /** DOT: `#` at the start of a line is a comment, `<...>` after `=` is an HTML string. */
  dot?: boolean;
}

function lex(text: string, rules: Rules): Lexed {
  const mask = new Uint8Array(text.length);
  const strings: Array<[number, number]> = [];
  const fill = (a: number, b: number, v: number) => mask.fill(v, a, Math.min(b, text.length));
  let i = 0;
  let lastCode = '';
  while (i < text.length) {
    const c = text[i]!;
    const block = rules.block.find(([open]) => text.startsWith(open, i));
    if (block) {
      const end = text.indexOf(block[1], i + block[0].length);
      const stop = end < 0 ? text.length : end + block[1].length;
      fill(i, stop, COMMENT);
      i = stop;
      continue;
    }
    const atLineStart = i === 0 || text[i - 1] === '\n';
    if (rules.line.some((o) => text.startsWith(o, i)) || (rules.dot && c === '#' && atLineStart)) {
      const nl = text.indexOf('\n', i);
      const stop = nl < 0 ? text.length : nl;
      fill(i, stop, COMMENT);
      i = stop;
      continue;
    }
    if (rules.quotes.includes(c)) {
      let j = i + 1;
      let close = -1;
      while (j < text.length) {
        if (rules.backslash && text[j] === '\\') {
          j += 2;
          continue;
        }
        if (text[j] === c) {
          if (!rules.backslash && text[j + 1] === c) {
            j += 2;
            continue;
          }
          close = j;
          break;
        }
        j++;
      }
      const stop = close < 0 ? text.length : close + 1;
      fill(i, stop, STRING);
      strings.push([i, close]);
      i = stop;
      lastCode = c;
      continue;
    }
    if (rules.dot && c === '<' && lastCode === '=') {
      let depth = 0;
      let j = i;
      for (; j < text.length; j++) {
        if (text[j] === '<') depth++;
        else if (text[j] === '>' && --depth === 0) break;
      }
      const stop = Math.min(j + 1, text.length);
      fill(i, stop, STRING);
      i = stop;
      lastCode = '>';
      continue;
    }
    if (!/\s/.test(c)) lastCode = c;
    i++;
  }
  return { mask, strings };
}

export function lexAsp(text: string): Lexed {
  return lex(text, { line: ['%'], block: [['%*', '*%']], quotes: ['"'], backslash: true });
}

export function lexDot(text: string): Lexed {
  return lex(text, { line: ['//'], block: [['/*', '*/']], quotes: ['"'], backslash: true, dot: true });
}

export function lexJson(text: string): Lexed {
  return lex(text, { line: [], block: [], quotes: ['"'], backslash: true });
}

export function lexSql(text: string): Lexed {
  return lex(text, { line: ['--'], block: [['/*', '*/']], quotes: ["'", '"', '`'], backslash: false });
}

/** Code positions where `re` matches (global regex over the whole text, match start in code). */
export function codeMatches(text: string, lexed: Lexed, re: RegExp): RegExpExecArray[] {
  const out: RegExpExecArray[] = [];
  const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`);
  for (let m = g.exec(text); m; m = g.exec(text)) {
    if (lexed.mask[m.index] === CODE) out.push(m);
    if (m[0].length === 0) g.lastIndex++;
  }
  return out;
}

/** Index of the bracket closing the one at `open` (code brackets only), or -1. */
export function matchingBracket(text: string, lexed: Lexed, open: number): number {
  const pairs: Record<string, string> = { '{': '}', '[': ']', '(': ')' };
  const want = pairs[text[open]!];
  if (!want) return -1;
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (lexed.mask[i] !== CODE) continue;
    if (text[i] === text[open]) depth++;
    else if (text[i] === want && --depth === 0) return i;
  }
  return -1;
}
