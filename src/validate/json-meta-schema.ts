/**
 * What a JSON schema given to the JSON validator must look like, written as a JSON schema (2020-12) and checked with
 * the same interpreting validator before the schema is used. It covers the structure of the keywords every dialect
 * shares (draft-04 to 2020-12): a `type` names JSON types, `required` lists strings, `properties` maps to schemas,
 * sizes are non-negative integers, `pattern` is a regular expression. Keywords it does not list are allowed and
 * passed to the validator as they are, so a newer dialect's keyword is never refused here.
 */
import type { Schema } from '@cfworker/json-schema';

const TYPES = ['array', 'boolean', 'integer', 'null', 'number', 'object', 'string'];
const schema = { $ref: '#/$defs/schema' };
const schemaMap = { type: 'object', additionalProperties: schema };
const schemaList = { type: 'array', minItems: 1, items: schema };
const count = { type: 'integer', minimum: 0 };
const text = { type: 'string' };

export const JSON_META_SCHEMA: Schema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $defs: {
    schema: {
      type: ['object', 'boolean'],
      properties: {
        $schema: text,
        $id: text,
        $ref: text,
        $anchor: text,
        title: text,
        description: text,
        format: text,
        type: {
          anyOf: [{ enum: TYPES }, { type: 'array', items: { enum: TYPES }, uniqueItems: true }],
        },
        enum: { type: 'array' },
        properties: schemaMap,
        patternProperties: { type: 'object', propertyNames: { format: 'regex' }, additionalProperties: schema },
        additionalProperties: schema,
        propertyNames: schema,
        dependentSchemas: schemaMap,
        dependentRequired: { type: 'object', additionalProperties: { type: 'array', items: text } },
        required: { type: 'array', items: text, uniqueItems: true },
        items: { anyOf: [schema, { type: 'array', items: schema }] },
        prefixItems: schemaList,
        additionalItems: schema,
        contains: schema,
        unevaluatedItems: schema,
        unevaluatedProperties: schema,
        not: schema,
        if: schema,
        then: schema,
        else: schema,
        allOf: schemaList,
        anyOf: schemaList,
        oneOf: schemaList,
        $defs: schemaMap,
        definitions: schemaMap,
        multipleOf: { type: 'number', exclusiveMinimum: 0 },
        minimum: { type: 'number' },
        maximum: { type: 'number' },
        exclusiveMinimum: { type: ['number', 'boolean'] },
        exclusiveMaximum: { type: ['number', 'boolean'] },
        minLength: count,
        maxLength: count,
        minItems: count,
        maxItems: count,
        minContains: count,
        maxContains: count,
        minProperties: count,
        maxProperties: count,
        uniqueItems: { type: 'boolean' },
        pattern: { type: 'string', format: 'regex' },
      },
    },
  },
  $ref: '#/$defs/schema',
};
