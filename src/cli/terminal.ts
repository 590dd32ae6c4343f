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

/** A run of this many characters without a space is shortened in messages (a 100 000-character shard name). */
const LONG_RUN = 300;

/**
 * `text` with every run of LONG_RUN or more non-space characters cut to its first 120 and last 40 characters around
 * `…[N characters]…`: a message quoting a huge name from a file stays readable and its first line stays in view.
 */
export function clipLong(text: string): string {
  return text.replace(
    new RegExp(`\\S{${LONG_RUN},}`, 'g'),
    (run) => `${run.slice(0, 120)}…[${run.length - 160} characters]…${run.slice(-40)}`,
  );
}

/** JSON for stdout: JSON.stringify leaves C1 controls and bidi characters raw; they are escaped (still valid JSON). */
export function terminalJson(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE, escape);
}
