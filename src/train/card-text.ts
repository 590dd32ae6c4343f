/**
 * User-supplied strings (a base model's name from adapter_config.json or a folder name, a dataset path, target module
 * names) as they go into generated model cards (README.md): each context has its own escaping, so a name can neither
 * add keys to the YAML front matter, nor break a Markdown table or heading, nor end a code span, nor step out of the
 * quoted string of a Python or shell line that a reader copies.
 */

/** Characters that end or bend a line: C0 and C1 controls, DEL, line / paragraph separators, bidi overrides. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

const hex4 = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * A YAML double-quoted scalar (YAML 1.1 and 1.2; also a JSON string): quotes and backslashes escaped, every control
 * and line-breaking character as \uXXXX (YAML 1.1 reads U+0085, U+2028 and U+2029 as line breaks).
 */
export function yamlString(s: string): string {
  return JSON.stringify(s).replace(CONTROL, hex4);
}

/** One front-matter line `key: "value"`, or nothing when the value is empty. */
export function yamlLine(key: string, value: string): string {
  return value === '' ? '' : `${key}: ${yamlString(value)}\n`;
}

/**
 * Inline Markdown text (a heading, a table cell, a sentence): control characters and line breaks become spaces, and
 * every ASCII punctuation mark that Markdown or HTML could read as syntax is backslash-escaped (CommonMark allows a
 * backslash before any ASCII punctuation), so the text shows exactly as given.
 */
export function mdText(s: string): string {
  return s.replace(CONTROL, ' ').replace(/[\\`*_{}[\]<>()#+!|~&"$]/g, (c) => `\\${c}`);
}

/**
 * A Markdown code span holding `code`: fenced with one backtick more than its longest run of backticks (CommonMark),
 * padded with a space where it starts or ends with one; control characters and line breaks become spaces.
 */
export function codeSpan(code: string): string {
  const text = code.replace(CONTROL, ' ');
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** A Python string literal of `s`: double-quoted, every character outside printable ASCII as \uXXXX or \UXXXXXXXX. */
export function pyString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (cp >= 0x20 && cp <= 0x7e) out += ch;
    else if (cp <= 0xffff) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

/** `s` as one shell word: as it is when it holds only safe characters, else single-quoted ('\'' for a quote). */
export function shellWord(s: string): string {
  if (/^[\w@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(CONTROL, ' ').replace(/'/g, `'\\''`)}'`;
}
