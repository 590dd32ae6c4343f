/**
 * Seeded corruptions of valid code: the mistakes models make. Each returns a broken variant or
 * undefined when it does not apply (no braces to double, no attribute list to break). Whether a
 * variant is really broken is left to the validator: `./repair.ts` keeps only rejected ones.
 *
 * asp:  drop-period, double-braces (`{{ }}`), unsafe-variable (a head or negated variable renamed
 *       so nothing binds it), non-ascii (`≠ ≤ ≥ −` for `!= <= >= -`, or an accented letter)
 * dot:  drop-brace, drop-quote, arrow-in-undirected (`->` in a `graph`, or `digraph` → `graph`),
 *       bad-attribute-list (`]` dropped, a value dropped, an `=` dropped)
 * json: trailing-comma, drop-quote, drop-brace, single-quotes
 * sql:  misspelled-keyword, drop-paren, drop-quote
 */
import { CODE, codeMatches, lexAsp, lexDot, lexJson, lexSql, matchingBracket, type Lexed } from './corrupt-lex.ts';
import type { ValidatorKind } from './types.ts';
import { SeededRng as SeededRandom } from '../util/rng.ts';

export interface Corrupted {
  corruption: string;
  text: string;
  /** What was changed, with its line, e.g. `removed the period ending line 3`. */
  description: string;
}

type Corruptor = (text: string, rng: SeededRandom) => Corrupted | undefined;

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

function splice(text: string, at: number, remove: number, insert = ''): string {
  return text.slice(0, at) + insert + text.slice(at + remove);
}

function codeChars(text: string, lexed: Lexed, chars: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) if (lexed.mask[i] === CODE && chars.includes(text[i]!)) out.push(i);
  return out;
}

function dropQuote(text: string, lexed: Lexed, rng: SeededRandom, name = 'drop-quote'): Corrupted | undefined {
  const quotes = lexed.strings.flatMap(([a, b]) => (b < 0 ? [a] : [a, b]));
  const at = rng.pick(quotes);
  if (at === undefined) return undefined;
  return { corruption: name, text: splice(text, at, 1), description: `removed a quote on line ${lineOf(text, at)}` };
}

function dropBracket(
  text: string,
  lexed: Lexed,
  rng: SeededRandom,
  chars: string,
  name: string,
): Corrupted | undefined {
  const at = rng.pick(codeChars(text, lexed, chars));
  if (at === undefined) return undefined;
  return {
    corruption: name,
    text: splice(text, at, 1),
    description: `removed "${text[at]}" on line ${lineOf(text, at)}`,
  };
}

// ---------------------------------------------------------------- ASP

/** Periods that end a statement (not `..` ranges). */
function aspStatementEnds(text: string, lexed: Lexed): number[] {
  return codeChars(text, lexed, '.').filter(
    (i) => text[i - 1] !== '.' && text[i + 1] !== '.' && (i + 1 === text.length || /[\s%]/.test(text[i + 1]!)),
  );
}

const ASP: Record<string, Corruptor> = {
  'drop-period': (text, rng) => {
    const at = rng.pick(aspStatementEnds(text, lexAsp(text)));
    if (at === undefined) return undefined;
    return {
      corruption: 'drop-period',
      text: splice(text, at, 1),
      description: `removed the period ending line ${lineOf(text, at)}`,
    };
  },
  'double-braces': (text, rng) => {
    const lexed = lexAsp(text);
    const pairs = codeChars(text, lexed, '{')
      .map((open) => [open, matchingBracket(text, lexed, open)] as const)
      .filter(([, close]) => close > 0);
    const pair = rng.pick(pairs);
    if (!pair) return undefined;
    const [open, close] = pair;
    const out = text.slice(0, open) + '{{' + text.slice(open + 1, close) + '}}' + text.slice(close + 1);
    return { corruption: 'double-braces', text: out, description: `doubled the braces on line ${lineOf(text, open)}` };
  },
  'unsafe-variable': (text, rng) => {
    const lexed = lexAsp(text);
    const candidates: Array<{ at: number; name: string }> = [];
    let start = 0;
    for (const end of [...aspStatementEnds(text, lexed), text.length]) {
      const stmt = text.slice(start, end);
      const neck = codeMatches(stmt, { mask: lexed.mask.subarray(start, end), strings: [] }, /:-/)[0]?.index;
      if (neck !== undefined && stmt.slice(0, neck).trim() !== '') {
        for (const m of codeMatches(text.slice(0, end), lexed, /(?<![A-Za-z0-9_'])_*[A-Z][A-Za-z0-9_']*/)) {
          if (m.index < start) continue;
          const rel = m.index - start;
          const negated = /\bnot\s+[a-z_][A-Za-z0-9_']*\s*\([^()]*$/.test(stmt.slice(0, rel));
          if (rel < neck || negated) candidates.push({ at: m.index, name: m[0] });
        }
      }
      start = end + 1;
    }
    const pick = rng.pick(candidates);
    if (!pick) return undefined;
    const fresh = [`${pick.name}1`, `${pick.name}2`, `${pick.name}_`, `${pick.name}${pick.name}`, 'Unbound'].find(
      (n) => !new RegExp(`(?<![A-Za-z0-9_'])${n}(?![A-Za-z0-9_'])`).test(text),
    );
    if (!fresh) return undefined;
    return {
      corruption: 'unsafe-variable',
      text: splice(text, pick.at, pick.name.length, fresh),
      description: `renamed variable ${pick.name} to ${fresh} on line ${lineOf(text, pick.at)}`,
    };
  },
  'non-ascii': (text, rng) => {
    const lexed = lexAsp(text);
    const ops = codeMatches(text, lexed, /!=|<=|>=|:-/).map((m) => ({
      at: m.index,
      from: m[0],
      to: ({ '!=': '≠', '<=': '≤', '>=': '≥', ':-': ':−' } as Record<string, string>)[m[0]]!,
    }));
    const accents: Record<string, string> = { a: 'á', e: 'é', i: 'í', o: 'ó', u: 'ú', n: 'ñ', c: 'ç' };
    const letters = codeMatches(text, lexed, /(?<=[a-z])[aeioucn]/).map((m) => ({
      at: m.index,
      from: m[0],
      to: accents[m[0]]!,
    }));
    const pick = rng.pick(ops.length > 0 && rng.next() < 0.5 ? ops : letters.length > 0 ? letters : ops);
    if (!pick) return undefined;
    return {
      corruption: 'non-ascii',
      text: splice(text, pick.at, pick.from.length, pick.to),
      description: `replaced "${pick.from}" with "${pick.to}" on line ${lineOf(text, pick.at)}`,
    };
  },
};

// ---------------------------------------------------------------- DOT

const DOT: Record<string, Corruptor> = {
  'drop-brace': (text, rng) => dropBracket(text, lexDot(text), rng, '{}', 'drop-brace'),
  'drop-quote': (text, rng) => dropQuote(text, lexDot(text), rng),
  'arrow-in-undirected': (text, rng) => {
    const lexed = lexDot(text);
    const header = codeMatches(text, lexed, /\b(di)?graph\b/i)[0];
    if (!header) return undefined;
    if (header[1]) {
      const out = splice(text, header.index, header[0].length, header[0].slice(2));
      return {
        corruption: 'arrow-in-undirected',
        text: out,
        description: `made the digraph on line ${lineOf(text, header.index)} an undirected graph, keeping its -> edges`,
      };
    }
    const at = rng.pick(codeMatches(text, lexed, /--/).map((m) => m.index));
    if (at === undefined) return undefined;
    return {
      corruption: 'arrow-in-undirected',
      text: splice(text, at, 2, '->'),
      description: `wrote -> in the undirected graph on line ${lineOf(text, at)}`,
    };
  },
  'bad-attribute-list': (text, rng) => {
    const lexed = lexDot(text);
    const lists = codeChars(text, lexed, '[')
      .map((open) => [open, matchingBracket(text, lexed, open)] as const)
      .filter(([, close]) => close > 0);
    const list = rng.pick(lists);
    if (!list) return undefined;
    const [open, close] = list;
    const eqs = codeChars(text, lexed, '=').filter((i) => i > open && i < close);
    const mode = rng.pick(eqs.length > 0 ? ['drop-bracket', 'drop-value', 'drop-equals'] : ['drop-bracket']);
    const line = lineOf(text, open);
    const eq = rng.pick(eqs);
    if (mode === 'drop-bracket' || eq === undefined) {
      return {
        corruption: 'bad-attribute-list',
        text: splice(text, close, 1),
        description: `removed the "]" closing the attribute list on line ${line}`,
      };
    }
    if (mode === 'drop-equals') {
      return {
        corruption: 'bad-attribute-list',
        text: splice(text, eq, 1, ' '),
        description: `removed an "=" from the attribute list on line ${line}`,
      };
    }
    let end = eq + 1;
    while (end < close && /\s/.test(text[end]!)) end++;
    const str = lexed.strings.find(([a]) => a === end);
    if (str && str[1] > 0) end = str[1] + 1;
    else while (end < close && /[^\s,;\]]/.test(text[end]!)) end++;
    return {
      corruption: 'bad-attribute-list',
      text: text.slice(0, eq + 1) + text.slice(end),
      description: `removed an attribute value on line ${line}`,
    };
  },
};

// ---------------------------------------------------------------- JSON

const JSON_CORRUPTORS: Record<string, Corruptor> = {
  'trailing-comma': (text, rng) => {
    const lexed = lexJson(text);
    const closers = codeChars(text, lexed, '}]').filter((i) => {
      const before = text.slice(0, i).trimEnd();
      return !/[{[,]$/.test(before);
    });
    const at = rng.pick(closers);
    if (at === undefined) return undefined;
    const insertAt = text.slice(0, at).trimEnd().length;
    return {
      corruption: 'trailing-comma',
      text: splice(text, insertAt, 0, ','),
      description: `added a trailing comma on line ${lineOf(text, at)}`,
    };
  },
  'drop-quote': (text, rng) => dropQuote(text, lexJson(text), rng),
  'drop-brace': (text, rng) => dropBracket(text, lexJson(text), rng, '{}[]', 'drop-brace'),
  'single-quotes': (text, rng) => {
    const lexed = lexJson(text);
    const str = rng.pick(lexed.strings.filter(([a, b]) => b > a && !text.slice(a + 1, b).includes("'")));
    if (!str) return undefined;
    const [a, b] = str;
    return {
      corruption: 'single-quotes',
      text: `${text.slice(0, a)}'${text.slice(a + 1, b)}'${text.slice(b + 1)}`,
      description: `used single quotes on line ${lineOf(text, a)}`,
    };
  },
};

// ---------------------------------------------------------------- SQL

const MISSPELLED: Record<string, string> = {
  SELECT: 'SELCT',
  FROM: 'FORM',
  WHERE: 'WHER',
  GROUP: 'GRUOP',
  ORDER: 'ODER',
  JOIN: 'JION',
  INSERT: 'INSRT',
  UPDATE: 'UPDTE',
  DELETE: 'DELTE',
  HAVING: 'HAVNG',
  LIMIT: 'LIMT',
  VALUES: 'VALEUS',
};

const SQL: Record<string, Corruptor> = {
  'misspelled-keyword': (text, rng) => {
    const lexed = lexSql(text);
    const words = codeMatches(text, lexed, new RegExp(`\\b(${Object.keys(MISSPELLED).join('|')})\\b`, 'i'));
    const m = rng.pick(words);
    if (!m) return undefined;
    const wrong = MISSPELLED[m[0].toUpperCase()]!;
    const cased = m[0] === m[0].toLowerCase() ? wrong.toLowerCase() : wrong;
    return {
      corruption: 'misspelled-keyword',
      text: splice(text, m.index, m[0].length, cased),
      description: `misspelled ${m[0]} as ${cased} on line ${lineOf(text, m.index)}`,
    };
  },
  'drop-paren': (text, rng) => dropBracket(text, lexSql(text), rng, '()', 'drop-paren'),
  'drop-quote': (text, rng) => dropQuote(text, lexSql(text), rng),
};

const CORRUPTORS: Record<ValidatorKind, Record<string, Corruptor>> = {
  asp: ASP,
  dot: DOT,
  json: JSON_CORRUPTORS,
  sql: SQL,
};

/** Corruption names for a kind, in a fixed order. */
export function corruptionsFor(kind: ValidatorKind): string[] {
  return Object.keys(CORRUPTORS[kind]);
}

export function corrupt(
  kind: ValidatorKind,
  text: string,
  corruption: string,
  rng: SeededRandom,
): Corrupted | undefined {
  const fn = CORRUPTORS[kind][corruption];
  if (!fn) throw new Error(`unknown ${kind} corruption "${corruption}" (known: ${corruptionsFor(kind).join(', ')})`);
  const out = fn(text, rng);
  return out && out.text !== text ? out : undefined;
}

/**
 * Up to `perCorruption` distinct variants of each corruption (fewer when it has fewer places to
 * apply), deterministic for a seed.
 */
export function corruptVariants(kind: ValidatorKind, text: string, seed: number, perCorruption = 1): Corrupted[] {
  const rng = new SeededRandom(seed);
  const out: Corrupted[] = [];
  const seen = new Set<string>();
  for (const name of corruptionsFor(kind)) {
    let made = 0;
    for (let attempt = 0; attempt < perCorruption * 4 && made < perCorruption; attempt++) {
      const v = corrupt(kind, text, name, rng);
      if (!v || seen.has(v.text)) continue;
      seen.add(v.text);
      out.push(v);
      made++;
    }
  }
  return out;
}
