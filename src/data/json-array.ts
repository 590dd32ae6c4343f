/**
 * Splits a top-level JSON array into its elements, each parsed on its own by JSON.parse, so a
 * broken element is reported at its own place while the others are kept. After a broken element
 * (an unterminated string, a missing comma, garbage) reading resumes at the next record: the next
 * element start that follows a comma, parses, is followed by "," or the final "]", and (once the
 * records' fields are known) shares a field with them. The search has a work budget linear in the
 * text's length, so a hostile file cannot make it quadratic.
 */

export interface ArrayElement {
  start: number;
  end: number;
  value: unknown;
}

export interface ArrayError {
  /** UTF-16 index where the broken part starts (the broken record's first character). */
  offset: number;
  message: string;
  /** Where reading resumed, or null when nothing after the error could be read. */
  resumeAt: number | null;
}

export interface ArrayScan {
  elements: ArrayElement[];
  errors: ArrayError[];
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Index of the first non-whitespace character at or after `i`. */
export function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

type Scanned = { end: number } | { error: string; at: number };

/**
 * Scans one JSON value starting at `i` (strings, nesting) and returns the index after it; gives
 * up after `limit` characters. A raw newline inside a string ends it as unterminated: JSON strings
 * cannot hold one, and it keeps a broken string from swallowing the following lines.
 */
function scanValue(text: string, i: number, limit = Infinity): Scanned {
  let depth = 0;
  const stop = Math.min(text.length, i + limit);
  while (i < stop) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      i++;
      while (i < stop) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i += 2;
        else if (d === 0x22) break;
        else if (d === 0x0a) return { error: 'unterminated string', at: i };
        else i++;
      }
      if (i >= stop) return { error: 'unterminated string', at: i };
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
  if (stop < text.length) return { error: 'too long to resume at', at: i };
  if (depth > 0) return { error: 'unterminated object or array', at: i };
  return { end: i };
}

/** JSON.parse's message without its position, which counts from the element, not the file. */
function parseMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/,? (in JSON )?at position \d+( \(line \d+ column \d+\))?/, '');
}

function parse(text: string, start: number, end: number): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(text.slice(start, end)) as unknown };
  } catch (err) {
    return { error: `invalid JSON: ${parseMessage(err)}` };
  }
}

function keysOf(value: unknown): Set<string> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? new Set(Object.keys(value)) : null;
}

/** Resumption work allowed per character of text. */
const RESYNC_BUDGET_PER_CHAR = 4;

/** Scans `[ v1, v2, ... ]`; text must start (after whitespace) with '['. */
export function scanJsonArray(text: string): ArrayScan {
  const elements: ArrayElement[] = [];
  const errors: ArrayError[] = [];
  let i = skipSpace(text, 0);
  if (text[i] !== '[') {
    errors.push({ offset: i, message: 'invalid JSON: expected "["', resumeAt: null });
    return { elements, errors };
  }
  const open = i;
  i = skipSpace(text, i + 1);
  // Pretty-printed and one-record-per-line arrays start each record on a new line.
  const perLine = text.slice(open, i).includes('\n');
  let opener = text.charCodeAt(i) === 0x5b ? 0x5b : 0x7b;
  let keys: Set<string> | null = null;
  let budget = RESYNC_BUDGET_PER_CHAR * text.length;

  const resync = (from: number, allowHere: boolean): number | null => {
    for (let c = text.indexOf(String.fromCharCode(opener), from); c >= 0 && budget > 0;) {
      let ok = allowHere && c === from;
      if (!ok) {
        let p = c - 1;
        let newline = false;
        for (; p >= 0 && isSpace(text.charCodeAt(p)); p--) if (text.charCodeAt(p) === 0x0a) newline = true;
        if (text.charCodeAt(p) === 0x2c && perLine && !newline) {
          // Comma-first layout: the comma starts the line.
          let q = p - 1;
          while (q >= 0 && (text.charCodeAt(q) === 0x20 || text.charCodeAt(q) === 0x09)) q--;
          newline = q < 0 || text.charCodeAt(q) === 0x0a || text.charCodeAt(q) === 0x0d;
        }
        ok = text.charCodeAt(p) === 0x2c && (newline || !perLine);
      }
      if (ok) {
        const scanned = scanValue(text, c, budget);
        budget -= ('end' in scanned ? scanned.end : scanned.at) - c + 1;
        if ('end' in scanned && scanned.end > c) {
          const parsed = parse(text, c, scanned.end);
          const fields = 'value' in parsed ? keysOf(parsed.value) : null;
          const fits = !keys || keys.size === 0 || (fields !== null && [...fields].some((k) => keys!.has(k)));
          const after = skipSpace(text, scanned.end);
          const next = text.charCodeAt(after);
          if (
            'value' in parsed &&
            fits &&
            (next === 0x2c || (next === 0x5d && skipSpace(text, after + 1) >= text.length))
          )
            return c;
        }
      }
      budget--;
      c = text.indexOf(String.fromCharCode(opener), c + 1);
    }
    return null;
  };
  const fail = (offset: number, message: string, from: number, allowHere: boolean): number | null => {
    const resumeAt = resync(from, allowHere);
    errors.push({ offset, message, resumeAt });
    return resumeAt;
  };

  for (;;) {
    if (i >= text.length) {
      errors.push({
        offset: text.length,
        message: 'invalid JSON: the array is not closed with "]" (is the file cut short?)',
        resumeAt: null,
      });
      break;
    }
    if (text.charCodeAt(i) === 0x5d) {
      const j = skipSpace(text, i + 1);
      if (j >= text.length) break;
      if (text.charCodeAt(j) === 0x5b) {
        // Arrays written one after another (appended files): the next one is read too.
        errors.push({
          offset: j,
          message: 'invalid JSON: a second array follows the first (its rows are read too)',
          resumeAt: j + 1,
        });
        i = skipSpace(text, j + 1);
        continue;
      }
      const at = fail(j, 'invalid JSON: unexpected text after the closing "]"', j, false);
      if (at === null) break;
      i = at;
      continue;
    }
    const start = i;
    const scanned = scanValue(text, i);
    let failure: string;
    if ('error' in scanned) {
      failure = `invalid JSON: ${scanned.error}`;
      // A broken record's scan counts against the budget, so many of them stay linear.
      budget -= scanned.at - start;
    } else if (scanned.end === start) failure = `invalid JSON: unexpected "${text[start]}"`;
    else {
      const parsed = parse(text, start, scanned.end);
      if ('value' in parsed) {
        if (elements.length === 0) opener = text.charCodeAt(start);
        // Fields of records read before any error: a nested object cannot pass for a record.
        if (keys === null && errors.length === 0) keys = keysOf(parsed.value);
        elements.push({ start, end: scanned.end, value: parsed.value });
        i = skipSpace(text, scanned.end);
        const c = text.charCodeAt(i);
        if (c === 0x2c) i = skipSpace(text, i + 1);
        else if (c !== 0x5d && i < text.length) {
          const at = fail(i, `invalid JSON: expected "," or "]" after the record but found "${text[i]}"`, i, true);
          if (at === null) break;
          i = at;
        }
        continue;
      }
      failure = parsed.error;
    }
    const at = fail(start, failure, start + 1, false);
    if (at === null) break;
    i = at;
  }
  return { elements, errors };
}
