/**
 * Pulls the code out of a model's answer before validation.
 *
 * 1. Fenced blocks (``` or ~~~, CommonMark rules: up to three spaces of indent, the closing fence
 *    at least as long as the opening). The first block whose info string names the kind wins, then
 *    the first block with no info string, then the first block. A fence the model never closed
 *    runs to the end of the answer.
 * 2. No fence: leading and trailing prose is cut, per kind:
 *    - dot: from `[strict] [di]graph` to its matching `}`;
 *    - json: the first `{...}` or `[...]` that parses (else the widest bracketed span);
 *    - sql: from the first line that starts with a statement keyword to the last `;`;
 *    - asp: leading and trailing lines that read as prose (three plain words in a row, a line
 *      ending in `:`, a Markdown heading or bullet) are dropped.
 * 3. Otherwise the answer itself, trimmed.
 */
import type { ValidatorKind } from './types.ts';

export interface Extracted {
  code: string;
  from: 'fence' | 'prose' | 'raw';
  /** The fence's info string, when the code came from a fence. */
  lang?: string;
}

const LANGS: Record<ValidatorKind, readonly string[]> = {
  asp: ['asp', 'clingo', 'gringo', 'clasp', 'lp', 'prolog', 'answer-set', 'answerset'],
  dot: ['dot', 'graphviz', 'gv', 'digraph'],
  json: ['json', 'jsonc', 'json5', 'jsonl'],
  sql: ['sql', 'sqlite', 'sqlite3', 'postgresql', 'mysql', 'plsql', 'tsql'],
};

interface Fence {
  lang: string;
  code: string;
}

export function fencedBlocks(text: string): Fence[] {
  const lines = text.split(/\r?\n/);
  const blocks: Fence[] = [];
  let open: { marker: string; lang: string; body: string[] } | undefined;
  for (const line of lines) {
    if (!open) {
      const m = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/.exec(line);
      if (m) open = { marker: m[1]!, lang: m[2]!.toLowerCase(), body: [] };
      continue;
    }
    const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(line);
    if (close && close[1]![0] === open.marker[0] && close[1]!.length >= open.marker.length) {
      blocks.push({ lang: open.lang, code: open.body.join('\n') });
      open = undefined;
    } else {
      open.body.push(line);
    }
  }
  if (open) blocks.push({ lang: open.lang, code: open.body.join('\n') });
  return blocks;
}

/** Index of the `}`/`]` that closes the bracket at `start`, skipping strings and comments. */
function matchingClose(text: string, start: number, comments: boolean): number {
  const stack: string[] = [];
  let i = start;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    } else if (comments && c === '/' && text[i + 1] === '/') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl;
    } else if (comments && c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    } else if (c === '{' || c === '[') {
      stack.push(c === '{' ? '}' : ']');
    } else if (c === '}' || c === ']') {
      if (stack.pop() !== c) return -1;
      if (stack.length === 0) return i;
    }
    i++;
  }
  return -1;
}

function extractDot(text: string): string | undefined {
  // keyword, optional ID (quoted, or a run of name characters), then the opening brace
  const m = /(^|\n)[ \t]*((?:strict\s+)?(?:di)?graph\b\s*(?:"(?:[^"\\]|\\.)*"|[\w.\u0080-\uffff-]+)?\s*)\{/i.exec(text);
  if (!m) return undefined;
  const start = m.index + m[1]!.length;
  const brace = m.index + m[0].length - 1;
  const end = matchingClose(text, brace, true);
  return (end < 0 ? text.slice(start) : text.slice(start, end + 1)).trim();
}

function extractJson(text: string): string | undefined {
  const starts: number[] = [];
  for (let i = 0; i < text.length; i++) if (text[i] === '{' || text[i] === '[') starts.push(i);
  for (const s of starts) {
    const end = matchingClose(text, s, false);
    if (end < 0) continue;
    const candidate = text.slice(s, end + 1);
    try {
      JSON.parse(candidate);
      return candidate;
    } catch {
      // not this one; try the next bracket
    }
  }
  const first = starts[0];
  if (first === undefined) return undefined;
  const last = Math.max(text.lastIndexOf('}'), text.lastIndexOf(']'));
  return (last > first ? text.slice(first, last + 1) : text.slice(first)).trim();
}

const SQL_START = /^[ \t]*(SELECT|WITH|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|REPLACE|PRAGMA|EXPLAIN|VALUES)\b/im;

function extractSql(text: string): string | undefined {
  const m = SQL_START.exec(text);
  if (!m) return undefined;
  const rest = text.slice(m.index);
  const lastSemi = rest.lastIndexOf(';');
  if (lastSemi < 0) return rest.trim();
  const tail = rest.slice(lastSemi + 1);
  return tail.trim() === '' || !SQL_START.test(tail) ? rest.slice(0, lastSemi + 1).trim() : rest.trim();
}

/** A line that reads as prose rather than ASP. */
export function isAspProse(line: string): boolean {
  const t = line.trim();
  if (t === '' || t.startsWith('%')) return false;
  if (/^(#{1,6}\s|[-*+]\s|\d+[.)]\s|\*\*)/.test(t)) return true;
  if (t.endsWith(':')) return true;
  const words = t.replace(/\bnot\s+/g, '');
  return /\b[A-Za-z]{2,}[ \t]+[A-Za-z']{2,}[ \t]+[A-Za-z']{2,}\b/.test(words);
}

function extractAsp(text: string): string | undefined {
  const lines = text.split(/\r?\n/);
  let a = 0;
  let b = lines.length;
  while (a < b && (lines[a]!.trim() === '' || isAspProse(lines[a]!))) a++;
  while (b > a && (lines[b - 1]!.trim() === '' || isAspProse(lines[b - 1]!))) b--;
  if (a === 0 && b === lines.length) return undefined;
  return lines.slice(a, b).join('\n');
}

const BY_KIND: Record<ValidatorKind, (text: string) => string | undefined> = {
  asp: extractAsp,
  dot: extractDot,
  json: extractJson,
  sql: extractSql,
};

export function extractCode(answer: string, kind?: ValidatorKind): Extracted {
  const blocks = fencedBlocks(answer);
  if (blocks.length > 0) {
    const langs = kind ? LANGS[kind] : [];
    const pick = blocks.find((b) => langs.includes(b.lang)) ?? blocks.find((b) => b.lang === '') ?? blocks[0]!;
    return pick.lang
      ? { code: pick.code.trim(), from: 'fence', lang: pick.lang }
      : { code: pick.code.trim(), from: 'fence' };
  }
  const stripped = kind ? BY_KIND[kind](answer) : undefined;
  if (stripped !== undefined && stripped.trim() !== answer.trim()) return { code: stripped.trim(), from: 'prose' };
  return { code: answer.trim(), from: 'raw' };
}
