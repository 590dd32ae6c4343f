/** Python literals (for train.py's settings) and JSON-valued YAML lines (for axolotl.yaml), from plain values. */

export type PyValue = string | number | boolean | null | readonly PyValue[] | { readonly [key: string]: PyValue };

/** The value as a Python literal: None / True / False, numbers, JSON-escaped strings, lists and dicts. */
export function pyLiteral(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`${v} has no Python literal here`);
    // String(2e-4) is "0.0002", String(1e-8) is "1e-8": both Python floats; integers stay integers.
    return String(v);
  }
  // JSON's escapes (\" \\ \n \t \uXXXX) are Python's too, and it never writes \/.
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(pyLiteral).join(', ')}]`;
  const entries = Object.entries(v as { [key: string]: PyValue });
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}: ${pyLiteral(x)}`).join(', ')}}`;
}

/** `NAME = {` one key per line `}` with a trailing comment per key when given. */
export function pyDict(name: string, values: Record<string, PyValue>, comments: Record<string, string> = {}): string {
  const lines = Object.entries(values).map(([k, v]) => {
    const note = comments[k];
    return `    ${JSON.stringify(k)}: ${pyLiteral(v)},${note ? `  # ${note}` : ''}`;
  });
  return `${name} = {\n${lines.join('\n')}\n}`;
}

/**
 * A YAML value written as JSON (YAML 1.2 reads JSON as it is), except numbers with an exponent: PyYAML (YAML 1.1,
 * which axolotl reads with) takes `1e-8` for a string and wants `1.0e-8`.
 */
export function yamlValue(v: PyValue): string {
  if (typeof v === 'number' && Number.isFinite(v)) {
    const [mantissa, exponent] = String(v).split('e');
    if (exponent === undefined) return mantissa!;
    return `${mantissa!.includes('.') ? mantissa : `${mantissa}.0`}e${/^[-+]/.test(exponent) ? exponent : `+${exponent}`}`;
  }
  if (Array.isArray(v)) return `[${v.map(yamlValue).join(', ')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}: ${yamlValue(x)}`)
      .join(', ')}}`;
  return JSON.stringify(v);
}
