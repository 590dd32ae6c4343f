/**
 * Splits a top-level JSON array into its elements with their offsets, so each element is parsed on
 * its own (JSON.parse does the parsing) and a broken element is reported at its own line while the
 * others are kept.
 */

export interface ElementSpan {
  start: number;
  end: number;
}

export type ArrayScan =
  { ok: true; elements: ElementSpan[] } | { ok: false; elements: ElementSpan[]; offset: number; message: string };

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Index of the first non-whitespace character at or after `i`. */
export function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** Scans one JSON value starting at `i` (strings, nesting) and returns the index after it. */
function scanValue(text: string, i: number): { end: number } | { error: string; offset: number } {
  let depth = 0;
  const start = i;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // string: find the closing quote, honouring escapes
      i++;
      while (i < text.length) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i += 2;
        else if (d === 0x22) break;
        else if (d === 0x0a) return { error: 'unterminated string', offset: start };
        else i++;
      }
      if (i >= text.length) return { error: 'unterminated string', offset: start };
      i++;
      if (depth === 0) return { end: i };
      continue;
    }
    if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      if (depth === 0) return { end: i };
      depth--;
      if (depth === 0) return { end: i + 1 };
    } else if (depth === 0 && (c === 0x2c || isSpace(c))) {
      return { end: i };
    }
    i++;
  }
  if (depth > 0) return { error: 'unterminated object or array', offset: start };
  return { end: i };
}

/** Scans `[ v1, v2, ... ]`; text must start (after whitespace) with '['. */
export function scanJsonArray(text: string): ArrayScan {
  const elements: ElementSpan[] = [];
  let i = skipSpace(text, 0);
  if (text[i] !== '[') return { ok: false, elements, offset: i, message: 'expected "["' };
  i = skipSpace(text, i + 1);
  if (text[i] === ']') return trailing(text, i + 1, elements);
  for (;;) {
    const start = i;
    const scanned = scanValue(text, i);
    if ('error' in scanned) return { ok: false, elements, offset: scanned.offset, message: scanned.error };
    if (scanned.end === start) {
      return { ok: false, elements, offset: start, message: `unexpected "${text[start] ?? 'end of file'}"` };
    }
    elements.push({ start, end: scanned.end });
    i = skipSpace(text, scanned.end);
    if (text[i] === ',') {
      i = skipSpace(text, i + 1);
      continue;
    }
    if (text[i] === ']') return trailing(text, i + 1, elements);
    return {
      ok: false,
      elements,
      offset: i,
      message: i >= text.length ? 'the array is not closed with "]"' : `expected "," or "]" but found "${text[i]}"`,
    };
  }
}

function trailing(text: string, i: number, elements: ElementSpan[]): ArrayScan {
  const j = skipSpace(text, i);
  if (j < text.length) return { ok: false, elements, offset: j, message: 'unexpected text after the closing "]"' };
  return { ok: true, elements };
}
