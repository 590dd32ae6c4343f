/**
 * What the CLI echoes to a terminal: text from files (names, messages quoting them) can hold control characters and
 * escape sequences that a terminal would obey (colours, cursor moves, a title change, bidi overrides that reorder a
 * line). They are shown as visible escapes instead: "\x1b[31m" prints as `\u001b[31m`.
 */

/** C0 controls except tab and newline, DEL, C1 controls, line / paragraph separators, bidi embeddings and isolates. */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** `text` with every control character written as a visible \uXXXX escape (tab and newline kept). */
export function forTerminal(text: string): string {
  return text.replace(UNSAFE, escape);
}

/** JSON for stdout: JSON.stringify leaves C1 controls and bidi characters raw; they are escaped (still valid JSON). */
export function terminalJson(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE, escape);
}
