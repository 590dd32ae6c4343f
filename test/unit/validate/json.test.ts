import { describe, expect, it } from 'vitest';
import { JsonValidator, jsonErrorLocation } from '../../../src/validate/json.ts';

const person = {
  type: 'object',
  required: ['name', 'age'],
  properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 } },
  additionalProperties: false,
};

describe('JSON validator', () => {
  it('checks syntax with JSON.parse and gives its message with a position', async () => {
    const v = new JsonValidator();
    expect(await v.validate('{"a": [1, 2, {"b": null}]}')).toEqual({ ok: true, errors: [] });
    const text = '{\n  "a": 1,\n}';
    const r = await v.validate(text);
    expect(r.ok).toBe(false);
    let expected = '';
    try {
      JSON.parse(text);
    } catch (e) {
      expected = (e as Error).message;
    }
    expect(r.errors[0]!.message).toBe(expected);
    expect(r.errors[0]!.kind).toBe('syntax');
    expect(r.errors[0]!.line).toBe(3);
  });

  it('without a schema any JSON value is valid', async () => {
    const v = new JsonValidator();
    expect((await v.validate('{"name": 3}')).ok).toBe(true);
    expect((await v.validate('"just a string"')).ok).toBe(true);
    expect((await v.validate('')).errors[0]!.kind).toBe('empty');
  });

  it('checks a schema with @cfworker/json-schema and gives its messages at the failing value', async () => {
    const v = new JsonValidator({ schema: person });
    expect((await v.validate('{"name": "ada", "age": 36}')).ok).toBe(true);
    const r = await v.validate('{"name": 3, "extra": true}');
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual(
      expect.arrayContaining([
        { message: '#: Instance does not have required property "age".', kind: 'schema-required' },
        {
          message: '#: Property "extra" does not match additional properties schema.',
          kind: 'schema-additionalProperties',
        },
        { message: '#/name: Instance type "number" is invalid. Expected "string".', kind: 'schema-type' },
      ]),
    );
    expect(r.errors).toHaveLength(3);
    const bad = await v.validate('{"name": "ada", "age": -1}');
    expect(bad.errors).toEqual([{ message: '#/age: -1 is less than 0.', kind: 'schema-minimum' }]);
  });

  it('picks the 2020-12 dialect from $schema', async () => {
    const schema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'array',
      prefixItems: [{ type: 'string' }, { type: 'number' }],
      items: false,
    };
    const v = new JsonValidator({ schema });
    expect((await v.validate('["a", 1]')).ok).toBe(true);
    const r = await v.validate('["a", 1, 2]');
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual([{ message: '#: Items did not match schema.', kind: 'schema-items' }]);
    // Under draft-07 (no $schema) the same array form of `items` means "each position", so a third item is allowed.
    const draft7 = new JsonValidator({ schema: { type: 'array', items: [{ type: 'string' }, { type: 'number' }] } });
    expect((await draft7.validate('["a", 1, 2]')).ok).toBe(true);
  });

  it('refuses an invalid schema clearly, naming the keyword', async () => {
    const cases: [object, RegExp][] = [
      [{ type: 'no-such-type' }, /invalid JSON schema: #\/type: /],
      [{ required: 'name' }, /invalid JSON schema: #\/required: .*Expected "array"/],
      [{ pattern: '([' }, /invalid JSON schema: #\/pattern: .*"regex"/],
      [{ properties: { a: 3 } }, /invalid JSON schema: #\/properties\/a: /],
      [{ items: { minLength: -1 } }, /invalid JSON schema: #\/items\/minLength: -1 is less than 0/],
    ];
    for (const [schema, message] of cases) {
      await expect(new JsonValidator({ schema }).validate('{}')).rejects.toThrow(message);
    }
  });

  it('accepts keywords it does not know, as the dialects do', async () => {
    const v = new JsonValidator({ schema: { type: 'string', 'x-note': 3, contentMediaType: 'text/plain' } });
    expect((await v.validate('"ok"')).ok).toBe(true);
    expect((await v.validate('3')).ok).toBe(false);
  });

  it('turns a position into line and column', () => {
    expect(jsonErrorLocation('Unexpected token } in JSON at position 12', '{\n  "a": 1,\n}')).toEqual({
      line: 3,
      col: 1,
    });
    expect(jsonErrorLocation("Expected ',' (line 2 column 7)", '')).toEqual({ line: 2, col: 7 });
    expect(jsonErrorLocation('Unexpected end of JSON input', '{')).toBeUndefined();
  });
});
