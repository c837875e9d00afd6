/**
 * A message's JSON Schema, made by zod 4's own `z.toJSONSchema`, for the
 * AsyncAPI document. It describes what travels: a typed publish checks its
 * value against the schema's INPUT type and sends that value as JSON (the
 * consumer's schema then parses it and applies any transform), so the
 * schema is generated for `io: 'input'`. What JSON Schema cannot express
 * is let through as "any value" and reported; this never throws.
 */
import { z } from 'zod';
import type { Schema } from '../schema.js';
import type { JsonObject, JsonValue } from './json-value.js';

/** One place of a message's schema that JSON Schema cannot express (a Date, a bigint, a custom check). */
export interface JsonSchemaNote {
  /** Where, as a JSON Pointer into the generated schema: `''` for the whole of it, `/properties/at` for a field. */
  readonly pointer: string;
  /** Why, in zod's words, such as `Date cannot be represented in JSON Schema`. */
  readonly reason: string;
}

/** What {@link messageJsonSchema} returns: the schema, and what it could not express. */
export interface MessageJsonSchema {
  /**
   * A JSON Schema (draft-07, the dialect AsyncAPI's Schema Object extends)
   * of the message body. Where zod could not express a part, it accepts
   * any value, with a `$comment` that says why.
   */
  readonly schema: JsonObject;
  /** Each part that could not be expressed; empty when the schema is exact. */
  readonly notes: readonly JsonSchemaNote[];
}

/** Options of {@link messageJsonSchema}. */
export interface MessageJsonSchemaOptions {
  /**
   * Where the schema will sit in its document, as a URI fragment: its own
   * references (`#`, `#/definitions/…`, which zod writes for recursive and
   * named schemas) are rewritten to start there. The AsyncAPI export
   * passes `#/components/messages/<id>/payload`.
   * @default '#' (a stand-alone schema)
   */
  base?: string;
}

/** Keywords whose values are data, not schemas: a `$ref` inside them is not a reference. */
const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples', 'example']);

/** Keywords whose values map names (of properties, of definitions) to schemas. */
const NAMED_SCHEMAS = new Set(['properties', 'patternProperties', 'definitions', '$defs']);

/**
 * The JSON Schema of a message body that `schema` accepts, as it travels:
 * the schema's input side, in JSON Schema draft-07. Refinements (`.refine`,
 * `.superRefine`) are not expressed (JSON Schema has no code); types JSON
 * cannot carry (Date, bigint, Map, custom) accept any value and are listed
 * in `notes`.
 *
 * ```ts
 * const { schema, notes } = messageJsonSchema(z.object({ id: z.int() }));
 * ```
 */
export function messageJsonSchema(
  schema: Schema,
  options: MessageJsonSchemaOptions = {},
): MessageJsonSchema {
  const base = options.base ?? '#';
  const notes: JsonSchemaNote[] = [];
  let generated: Record<string, unknown>;
  try {
    generated = z.toJSONSchema(schema, {
      io: 'input',
      target: 'draft-07',
      unrepresentable: ({ path, message }) => {
        const pointer = toPointer(path);
        notes.push({ pointer, reason: message });
        return { $comment: `${message}: any value is accepted here` };
      },
    }) as Record<string, unknown>;
  } catch (error) {
    // zod refused the schema as a whole (a cycle it cannot reference, a broken schema): say so.
    const reason = error instanceof Error ? error.message : String(error);
    notes.push({ pointer: '', reason });
    return { schema: { $comment: `${reason}: any value is accepted` }, notes };
  }
  // The dialect is the document's (AsyncAPI's Schema Object), not a stand-alone schema's.
  const { $schema: _dialect, ...body } = generated;
  return { schema: rebase(body, base) as JsonObject, notes };
}

/** A JSON Pointer from a path of keys, escaped as RFC 6901 says. */
export function toPointer(path: readonly (string | number)[]): string {
  return path.map((key) => `/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/**
 * `value` (a schema, or with `names` a map of names to schemas) with every
 * local `$ref` (`#…`) made to start at `base` instead.
 */
function rebase(value: unknown, base: string, names = false): JsonValue {
  if (Array.isArray(value)) return value.map((item) => rebase(item, base));
  if (typeof value !== 'object' || value === null) return value as JsonValue;
  // fromEntries, not assignment: a property named `__proto__` is a property like any other.
  return Object.fromEntries(
    Object.entries(value).map(([key, item]): [string, JsonValue] => {
      if (names) return [key, rebase(item, base)];
      if (key === '$ref' && typeof item === 'string' && item.startsWith('#')) {
        return [key, base + item.slice(1)];
      }
      if (DATA_KEYWORDS.has(key)) return [key, item as JsonValue];
      return [key, rebase(item, base, NAMED_SCHEMAS.has(key))];
    }),
  );
}
