/**
 * Python string semantics for chat templates.
 *
 * Chat templates are written for Python's Jinja, where `s.strip(chars)`, `s.lstrip(chars)`, `s.rstrip(chars)`
 * and the `trim(chars)` filter are Python's `str.strip` family: with `chars` they remove only those characters,
 * without it the characters for which `str.isspace()` is true. @huggingface/jinja (0.5.x, the newest release
 * included) ignores the argument and strips with JavaScript's `trim`, whose whitespace set also differs (it
 * strips U+FEFF, keeps U+001C–U+001F and U+0085). Qwen3's template relies on `content.lstrip('\n')`, so answers
 * that start with spaces would render differently from the text the model was trained on.
 *
 * `pythonStringTemplate` rewrites a parsed template so that those calls go to the functions below instead of
 * the library's string methods; `PYTHON_STRING_GLOBALS` are the functions, passed with every render.
 */
import type { Template } from '@huggingface/jinja';

/** The characters of Python's `str.isspace()` (what `str.strip()` with no argument removes). */
const PY_WHITESPACE = new Set(
  [
    0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003,
    0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
  ].map((c) => String.fromCodePoint(c)),
);

export type StripSide = 'both' | 'left' | 'right';

/** Python's `s.strip(chars)` / `lstrip` / `rstrip`: `chars` null or undefined means whitespace. */
export function pythonStrip(s: string, chars: string | null | undefined, side: StripSide = 'both'): string {
  const set = chars === null || chars === undefined ? PY_WHITESPACE : new Set(Array.from(chars));
  const points = Array.from(s);
  let a = 0;
  let b = points.length;
  if (side !== 'right') while (a < b && set.has(points[a]!)) a++;
  if (side !== 'left') while (b > a && set.has(points[b - 1]!)) b--;
  return a === 0 && b === points.length ? s : points.slice(a, b).join('');
}

function stripArg(method: string, chars: unknown): string | null {
  if (chars === undefined || chars === null) return null;
  if (typeof chars !== 'string') throw new Error(`${method} arg must be None or str`);
  return chars;
}

/**
 * Jinja's `soft_str` for the trim filter's operand. None and undefined both arrive as undefined
 * through @huggingface/jinja's function calls, so None trims to '' here where Python gives 'None'.
 */
function softString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return String(value);
  throw new Error(`the trim filter needs a string, got ${Array.isArray(value) ? 'a list' : typeof value}`);
}

const METHOD_GLOBALS: Record<string, string> = {
  strip: '__py_str_strip',
  lstrip: '__py_str_lstrip',
  rstrip: '__py_str_rstrip',
};
const TRIM_GLOBAL = '__py_filter_trim';

function method(name: string, side: StripSide) {
  return (s: unknown, chars?: unknown): string => {
    if (typeof s !== 'string')
      throw new Error(`${name}() needs a string, got ${s === undefined || s === null ? 'None' : typeof s}`);
    return pythonStrip(s, stripArg(name, chars), side);
  };
}

/** The functions the rewritten template calls; spread them into every render's context. */
export const PYTHON_STRING_GLOBALS: Record<string, (...args: unknown[]) => string> = {
  [METHOD_GLOBALS.strip!]: method('strip', 'both'),
  [METHOD_GLOBALS.lstrip!]: method('lstrip', 'left'),
  [METHOD_GLOBALS.rstrip!]: method('rstrip', 'right'),
  [TRIM_GLOBAL]: (value: unknown, chars?: unknown) => pythonStrip(softString(value), stripArg('trim', chars)),
};

interface Node {
  type: string;
  [key: string]: unknown;
}

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string';
}

const identifier = (value: string): Node => ({ type: 'Identifier', value });

/** `x.strip(a)` → `__py_str_strip(x, a)`; `x | trim(a)` → `__py_filter_trim(x, a)`; other nodes unchanged. */
function rewriteNode(node: Node): Node {
  for (const [key, value] of Object.entries(node)) {
    if (Array.isArray(value)) node[key] = value.map((v) => (isNode(v) ? rewriteNode(v) : v));
    else if (value instanceof Map)
      node[key] = new Map(
        [...value.entries()].map(([k, v]) => [isNode(k) ? rewriteNode(k) : k, isNode(v) ? rewriteNode(v) : v]),
      );
    else if (isNode(value)) node[key] = rewriteNode(value);
  }
  if (node.type === 'CallExpression') {
    const callee = node.callee as Node;
    const property = callee.property as Node | undefined;
    if (
      callee.type === 'MemberExpression' &&
      !callee.computed &&
      property?.type === 'Identifier' &&
      typeof property.value === 'string' &&
      Object.hasOwn(METHOD_GLOBALS, property.value)
    ) {
      return {
        type: 'CallExpression',
        callee: identifier(METHOD_GLOBALS[property.value]!),
        args: [callee.object, ...(node.args as Node[])],
      };
    }
  }
  if (node.type === 'FilterExpression') {
    const filter = node.filter as Node;
    if (filter.type === 'Identifier' && filter.value === 'trim')
      return { type: 'CallExpression', callee: identifier(TRIM_GLOBAL), args: [node.operand] };
    const callee = filter.callee as Node | undefined;
    if (filter.type === 'CallExpression' && callee?.type === 'Identifier' && callee.value === 'trim')
      return {
        type: 'CallExpression',
        callee: identifier(TRIM_GLOBAL),
        args: [node.operand, ...(filter.args as Node[])],
      };
  }
  return node;
}

/** Rewrites a parsed template in place (see the file comment) and returns it. */
export function pythonStringTemplate(template: Template): Template {
  template.parsed = rewriteNode(template.parsed as unknown as Node) as unknown as Template['parsed'];
  return template;
}
