/**
 * A message's JSON Schema: the input side of its zod schema (what a typed
 * publish sends), what JSON Schema cannot express let through and
 * reported, its references rebased to where it sits, and never an error.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { messageJsonSchema } from '../../lib/contract/index.js';
import type { Schema } from '../../lib/schema.js';

describe('messageJsonSchema', () => {
  it('describes what the publisher sends: the input of transforms, defaults optional', () => {
    const { schema, notes } = messageJsonSchema(
      z.object({
        size: z.string().transform((text) => text.length),
        count: z.string().pipe(z.coerce.number()),
        currency: z.string().default('EUR'),
      }),
    );
    expect(notes).toEqual([]);
    expect(schema).toEqual({
      type: 'object',
      properties: {
        size: { type: 'string' },
        count: { type: 'string' },
        currency: { type: 'string', default: 'EUR' },
      },
      required: ['size', 'count'],
    });
    // No `$schema`: the document's dialect applies.
    expect(schema).not.toHaveProperty('$schema');
  });

  it('keeps what the schema says of extra keys: a strict object refuses them', () => {
    expect(messageJsonSchema(z.strictObject({ a: z.string() })).schema).toMatchObject({
      additionalProperties: false,
    });
    expect(messageJsonSchema(z.object({ a: z.string() })).schema).not.toHaveProperty(
      'additionalProperties',
    );
  });

  it('lets through and reports what JSON Schema cannot express', () => {
    const { schema, notes } = messageJsonSchema(
      z.object({
        at: z.date(),
        cents: z.bigint(),
        'a/b~c': z.map(z.string(), z.number()),
        check: z.custom<string>((value) => typeof value === 'string'),
      }),
    );
    expect(notes).toEqual([
      { pointer: '/properties/at', reason: 'Date cannot be represented in JSON Schema' },
      { pointer: '/properties/cents', reason: 'BigInt cannot be represented in JSON Schema' },
      { pointer: '/properties/a~1b~0c', reason: 'Map cannot be represented in JSON Schema' },
      { pointer: '/properties/check', reason: 'Custom types cannot be represented in JSON Schema' },
    ]);
    expect(schema).toMatchObject({
      properties: {
        at: { $comment: 'Date cannot be represented in JSON Schema: any value is accepted here' },
      },
    });
  });

  it('never throws: a schema zod cannot convert at all accepts anything, with a note', () => {
    const broken = { safeParse: () => ({ success: true, data: 1 }) } as unknown as Schema;
    const { schema, notes } = messageJsonSchema(broken);
    expect(notes).toHaveLength(1);
    expect(notes[0]?.pointer).toBe('');
    expect(Object.keys(schema)).toEqual(['$comment']);
  });

  it('rebases its references to where it sits in a document', () => {
    const tree: z.ZodType<{ children: unknown[] }> = z.object({
      get children() {
        return z.array(tree);
      },
    });
    const named = z.object({ street: z.string() }).meta({ id: 'Address' });
    const message = z.object({
      tree,
      home: named,
      work: named,
      // A property named as a keyword is a name: its schema is rebased too.
      enum: tree,
      // Data is not: a `$ref` in a constant stays as it is.
      marker: z.object({ $ref: z.string() }).default({ $ref: '#/x' }),
    });
    const { schema } = messageJsonSchema(message, { base: '#/components/messages/m/payload' });
    const text = JSON.stringify(schema);
    expect(text).not.toMatch(/"\$ref":"#(\/definitions|")/);
    expect(schema).toMatchObject({
      properties: {
        home: { $ref: '#/components/messages/m/payload/definitions/Address' },
        enum: { $ref: '#/components/messages/m/payload/definitions/__schema0' },
        marker: { default: { $ref: '#/x' }, properties: { $ref: { type: 'string' } } },
      },
    });
    expect(messageJsonSchema(message).schema).toMatchObject({
      properties: { home: { $ref: '#/definitions/Address' } },
    });
  });
});
