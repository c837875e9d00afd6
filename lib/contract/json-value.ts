/**
 * The values a JSON document holds, as the AsyncAPI export builds and
 * writes them (lib/contract/asyncapi.ts, lib/contract/yaml.ts).
 */

/** A value JSON can hold: what `JSON.parse` returns. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;

/** A JSON object: string keys, JSON values. */
export interface JsonObject {
  readonly [key: string]: JsonValue;
}
