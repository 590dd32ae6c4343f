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

  it("checks a schema with Ajv and gives Ajv's messages", async () => {
    const v = new JsonValidator({ schema: person });
    expect((await v.validate('{"name": "ada", "age": 36}')).ok).toBe(true);
    const r = await v.validate('{"name": 3, "extra": true}');
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual(
      expect.arrayContaining([
        { message: "data must have required property 'age'", kind: 'schema-required' },
        { message: 'data must NOT have additional properties', kind: 'schema-additionalProperties' },
        { message: 'data/name must be string', kind: 'schema-type' },
      ]),
    );
    expect(r.errors).toHaveLength(3);
    const bad = await v.validate('{"name": "ada", "age": -1}');
    expect(bad.errors).toEqual([{ message: 'data/age must be >= 0', kind: 'schema-minimum' }]);
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
    expect(r.errors).toEqual([{ message: 'data must NOT have more than 2 items', kind: 'schema-items' }]);
  });

  it('refuses an invalid schema clearly', async () => {
    const v = new JsonValidator({ schema: { type: 'no-such-type' } });
    await expect(v.validate('{}')).rejects.toThrow(/invalid JSON schema/);
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
