/**
 * JSON values against JSON Schema, as the compatibility check needs it:
 * whether one value is accepted (yes, no, or cannot tell), the JSON type of a
 * value, equality of values, and `$ref` resolution inside one document. It
 * reads only the keywords zod's `z.toJSONSchema` writes; any other keyword
 * makes the answer 'unknown', never a guess.
 */

/** A JSON Schema node: `true` and `false` accept everything and nothing. */
export type JsonSchemaNode = boolean | JsonSchemaObject;

/** A JSON Schema object node, as plain data. */
export interface JsonSchemaObject {
  readonly [keyword: string]: unknown;
}

/** Keywords that describe and never reject: they are ignored. */
export const ANNOTATIONS: ReadonlySet<string> = new Set([
  '$schema',
  '$id',
  '$anchor',
  '$comment',
  '$defs',
  'definitions',
  'title',
  'description',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
  'id',
]);

/** A JSON type name; `integer` is a `number` with no fraction. */
export type JsonType = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object';

/** The JSON type of a parsed JSON value. */
export function jsonTypeOf(value: unknown): JsonType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return Number.isInteger(value) ? 'integer' : 'number';
    case 'string':
      return 'string';
    default:
      return 'object';
  }
}

/** Whether two JSON values are equal, as JSON Schema's `const` and `enum` compare them. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, index) => sameJson(item, b[index]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  return (
    keys.length === Object.keys(right).length &&
    keys.every((key) => Object.hasOwn(right, key) && sameJson(left[key], right[key]))
  );
}

/** The node `#/...` points to in `root`, or `undefined` for a reference outside it. */
export function resolveRef(root: JsonSchemaNode, ref: string): JsonSchemaNode | undefined {
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === 'boolean' || (typeof node === 'object' && node !== null)
    ? (node as JsonSchemaNode)
    : undefined;
}

/** Whether a schema accepts a value: `'unknown'` when it uses something this module cannot read. */
export type Acceptance = 'yes' | 'no' | 'unknown';

/**
 * Whether `schema` (a node of the document `root`) accepts `value`, a parsed
 * JSON value. Formats with no `pattern` beside them and keywords outside
 * what zod writes answer `'unknown'`.
 */
export function accepts(schema: JsonSchemaNode, value: unknown, root: JsonSchemaNode): Acceptance {
  return new Validator(root).check(schema, value, 0);
}

/** How deep references may nest before the answer is 'unknown' (a cycle on one value). */
const MAX_DEPTH = 64;

class Validator {
  readonly #root: JsonSchemaNode;

  constructor(root: JsonSchemaNode) {
    this.#root = root;
  }

  check(schema: JsonSchemaNode, value: unknown, depth: number): Acceptance {
    if (typeof schema === 'boolean') return schema ? 'yes' : 'no';
    if (depth > MAX_DEPTH) return 'unknown';
    const answers: Acceptance[] = [];
    for (const [keyword, argument] of Object.entries(schema)) {
      if (ANNOTATIONS.has(keyword) || keyword.startsWith('x-')) continue;
      answers.push(this.#keyword(schema, keyword, argument, value, depth));
      if (answers.at(-1) === 'no') return 'no';
    }
    return answers.includes('unknown') ? 'unknown' : 'yes';
  }

  #keyword(
    schema: JsonSchemaObject,
    keyword: string,
    argument: unknown,
    value: unknown,
    depth: number,
  ): Acceptance {
    const type = jsonTypeOf(value);
    const sub = (node: unknown, item: unknown): Acceptance =>
      isNode(node) ? this.check(node, item, depth + 1) : 'unknown';
    switch (keyword) {
      case '$ref': {
        const target = typeof argument === 'string' ? resolveRef(this.#root, argument) : undefined;
        return target === undefined ? 'unknown' : this.check(target, value, depth + 1);
      }
      case 'type': {
        const types = Array.isArray(argument) ? argument : [argument];
        return types.includes(type) || (type === 'integer' && types.includes('number'))
          ? 'yes'
          : 'no';
      }
      case 'const':
        return bool(sameJson(argument, value));
      case 'enum':
        return Array.isArray(argument)
          ? bool(argument.some((item) => sameJson(item, value)))
          : 'unknown';
      case 'anyOf':
      case 'oneOf':
      case 'allOf':
        return this.#combined(keyword, argument, value, depth);
      case 'not': {
        const inner = sub(argument, value);
        return inner === 'unknown' ? 'unknown' : bool(inner === 'no');
      }
      case 'format':
        // zod writes a pattern beside the formats it checks by pattern; the others it checks in code.
        return type !== 'string' || typeof schema.pattern === 'string' ? 'yes' : 'unknown';
      default:
        return this.#typed(schema, keyword, argument, value, sub);
    }
  }

  #combined(keyword: string, argument: unknown, value: unknown, depth: number): Acceptance {
    if (!Array.isArray(argument)) return 'unknown';
    const answers = argument.map((branch) =>
      isNode(branch) ? this.check(branch, value, depth + 1) : 'unknown',
    );
    if (answers.includes('unknown')) {
      if (keyword === 'allOf' && answers.includes('no')) return 'no';
      if (keyword === 'anyOf' && answers.includes('yes')) return 'yes';
      return 'unknown';
    }
    const matches = answers.filter((answer) => answer === 'yes').length;
    if (keyword === 'allOf') return bool(matches === answers.length);
    if (keyword === 'anyOf') return bool(matches > 0);
    return bool(matches === 1);
  }

  /** Keywords that apply to one type of value; other values pass them. */
  #typed(
    schema: JsonSchemaObject,
    keyword: string,
    argument: unknown,
    value: unknown,
    sub: (node: unknown, item: unknown) => Acceptance,
  ): Acceptance {
    const type = jsonTypeOf(value);
    const number = typeof argument === 'number' ? argument : Number.NaN;
    switch (keyword) {
      case 'minLength':
      case 'maxLength':
      case 'pattern': {
        if (type !== 'string') return 'yes';
        const text = value as string;
        if (keyword === 'pattern') return matches(argument, text);
        // zod counts UTF-16 code units, as String#length does: the receiver is zod.
        const length = text.length;
        return bool(keyword === 'minLength' ? length >= number : length <= number);
      }
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
      case 'multipleOf': {
        if (type !== 'number' && type !== 'integer') return 'yes';
        const n = value as number;
        if (keyword === 'minimum') return bool(n >= number);
        if (keyword === 'maximum') return bool(n <= number);
        if (keyword === 'exclusiveMinimum') return bool(n > number);
        if (keyword === 'exclusiveMaximum') return bool(n < number);
        return bool(Number.isInteger(n / number));
      }
      case 'items':
      case 'prefixItems':
      case 'minItems':
      case 'maxItems':
      case 'uniqueItems':
        return type === 'array' ? this.#array(schema, keyword, value as unknown[], sub) : 'yes';
      case 'properties':
      case 'required':
      case 'additionalProperties':
      case 'propertyNames':
      case 'minProperties':
      case 'maxProperties':
        return type === 'object'
          ? this.#object(schema, keyword, value as Record<string, unknown>, sub)
          : 'yes';
      default:
        return 'unknown';
    }
  }

  #array(
    schema: JsonSchemaObject,
    keyword: string,
    items: unknown[],
    sub: (node: unknown, item: unknown) => Acceptance,
  ): Acceptance {
    const argument = schema[keyword];
    const prefix = Array.isArray(schema.prefixItems) ? schema.prefixItems.length : 0;
    switch (keyword) {
      case 'prefixItems':
        return all(
          items
            .slice(0, prefix)
            .map((item, index) =>
              sub(schema.prefixItems && (schema.prefixItems as unknown[])[index], item),
            ),
        );
      case 'items':
        return all(items.slice(prefix).map((item) => sub(argument, item)));
      case 'minItems':
        return bool(items.length >= (argument as number));
      case 'maxItems':
        return bool(items.length <= (argument as number));
      default:
        return argument !== true
          ? 'yes'
          : bool(
              items.every(
                (item, index) => items.findIndex((other) => sameJson(other, item)) === index,
              ),
            );
    }
  }

  #object(
    schema: JsonSchemaObject,
    keyword: string,
    value: Record<string, unknown>,
    sub: (node: unknown, item: unknown) => Acceptance,
  ): Acceptance {
    const argument = schema[keyword];
    const keys = Object.keys(value);
    const declared = isRecord(schema.properties) ? schema.properties : {};
    switch (keyword) {
      case 'properties':
        return all(
          keys
            .filter((key) => Object.hasOwn(declared, key))
            .map((key) => sub(declared[key], value[key])),
        );
      case 'required':
        return Array.isArray(argument)
          ? bool(argument.every((key) => typeof key === 'string' && Object.hasOwn(value, key)))
          : 'unknown';
      case 'additionalProperties':
        if (schema.patternProperties !== undefined) return 'unknown';
        return all(
          keys
            .filter((key) => !Object.hasOwn(declared, key))
            .map((key) => sub(argument, value[key])),
        );
      case 'propertyNames':
        return all(keys.map((key) => sub(argument, key)));
      case 'minProperties':
        return bool(keys.length >= (argument as number));
      default:
        return bool(keys.length <= (argument as number));
    }
  }
}

/** Whether `value` can be a schema node. */
export function isNode(value: unknown): value is JsonSchemaNode {
  return typeof value === 'boolean' || isRecord(value);
}

/** A plain object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bool(value: boolean): Acceptance {
  return value ? 'yes' : 'no';
}

function all(answers: readonly Acceptance[]): Acceptance {
  if (answers.includes('no')) return 'no';
  return answers.includes('unknown') ? 'unknown' : 'yes';
}

/** A pattern test, unanchored, as zod runs its regular expressions; a bad one is 'unknown'. */
function matches(pattern: unknown, text: string): Acceptance {
  if (typeof pattern !== 'string') return 'unknown';
  try {
    return bool(new RegExp(pattern).test(text));
  } catch {
    return 'unknown';
  }
}

/** The path of property `key` below `path`: `$.order.id`, or `$["a key"]` for a key that needs quotes. */
export function propertyPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}
