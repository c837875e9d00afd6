/**
 * Reading one JSON Schema node, for the compatibility check: its types,
 * the few values it may hold, its bounds, its patterns, and whether two
 * nodes share no value. A node's types or values are `undefined` when
 * they are not few and known.
 */
import {
  ANNOTATIONS,
  isNode,
  isRecord,
  type JsonSchemaNode,
  type JsonSchemaObject,
  sameJson,
} from './json-schema-values.js';

/** The JSON type names, as `type` lists them. */
export const TYPES = ['null', 'boolean', 'integer', 'number', 'string', 'array', 'object'] as const;

/** A JSON type name. */
export type TypeName = (typeof TYPES)[number];

/** A lower or upper bound: a number, and whether the bound itself is excluded. */
export interface Bound {
  readonly value: number;
  readonly exclusive: boolean;
}

/** Whether a node has no keyword that rejects anything. */
export function isTrivial(node: JsonSchemaNode): boolean {
  if (typeof node === 'boolean') return node;
  return Object.keys(node).every((key) => ANNOTATIONS.has(key) || key.startsWith('x-'));
}

/** zod's `z.never()`: `{ not: {} }`. */
export function isNever(node: JsonSchemaNode): boolean {
  return isRecord(node) && node.not !== undefined && isNode(node.not) && isTrivial(node.not);
}

const refCache = new WeakMap<object, boolean>();

/** Whether a node holds a `$ref` anywhere: then equal text may mean different schemas. */
export function hasRef(node: JsonSchemaNode): boolean {
  if (typeof node === 'boolean') return false;
  const known = refCache.get(node);
  if (known !== undefined) return known;
  const found = JSON.stringify(node).includes('"$ref"');
  refCache.set(node, found);
  return found;
}

/** A sender's union, split: its `anyOf`/`oneOf` branches, or one node per type of a `type` array. */
export function senderAlternatives(s: JsonSchemaObject): JsonSchemaNode[] | undefined {
  const union = Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : undefined;
  // The keywords beside a union only narrow it: each branch alone is a safe overestimate.
  if (union !== undefined) return union.filter(isNode);
  if (Array.isArray(s.type) && s.type.length > 1) return s.type.map((type) => ({ ...s, type }));
  return undefined;
}

/** The values a sender node can hold, when there are few: `const`, `enum`, `null`, booleans. */
export function finiteValues(s: JsonSchemaObject): readonly unknown[] | undefined {
  if (s.const !== undefined) return [s.const];
  if (Array.isArray(s.enum)) return s.enum;
  const types = typesOf(s);
  if (types?.length === 1 && types[0] === 'null') return [null];
  if (types?.length === 1 && types[0] === 'boolean') return [true, false];
  return undefined;
}

export function typesOf(node: JsonSchemaObject): TypeName[] | undefined {
  const { type } = node;
  if (typeof type === 'string') return [type as TypeName];
  if (Array.isArray(type)) return type as TypeName[];
  return undefined;
}

/** zod writes a string's extra patterns as `allOf: [{ pattern }, …]`: read them as the node's own. */
export function onlyStringAssertions(parts: readonly unknown[]): boolean {
  return parts.every(
    (part) =>
      isRecord(part) && Object.keys(part).every((key) => key === 'pattern' || key === 'format'),
  );
}

export function patternsOf(node: JsonSchemaObject): string[] {
  const found = typeof node.pattern === 'string' ? [node.pattern] : [];
  if (Array.isArray(node.allOf) && onlyStringAssertions(node.allOf)) {
    for (const part of node.allOf as JsonSchemaObject[]) {
      if (typeof part.pattern === 'string') found.push(part.pattern);
    }
  }
  return found;
}

export function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}

export function stringsOf(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((item): item is string => typeof item === 'string')
    : [];
}

/**
 * Objects of an intersection merged into one (properties of one name both
 * apply), when none of them limits the others' properties; else undefined.
 */
export function mergeObjects(parts: readonly JsonSchemaNode[]): JsonSchemaObject | undefined {
  const properties: Record<string, JsonSchemaNode> = {};
  const required = new Set<string>();
  for (const part of parts) {
    if (!isRecord(part)) return undefined;
    for (const key of Object.keys(part)) {
      if (!['type', 'properties', 'required'].includes(key) && !ANNOTATIONS.has(key))
        return undefined;
    }
    if (part.type !== undefined && part.type !== 'object') return undefined;
    for (const [key, value] of Object.entries(isRecord(part.properties) ? part.properties : {})) {
      if (!isNode(value)) return undefined;
      const before = properties[key];
      properties[key] = before === undefined ? value : { allOf: [before, value] };
    }
    for (const key of stringsOf(part.required)) required.add(key);
  }
  return { type: 'object', properties, required: [...required] };
}

/**
 * Whether no value matches two of `branches`: their types differ, or a
 * property both require holds values of one that the other never holds (a
 * discriminated union's tag).
 */
export function pairwiseDisjoint(branches: readonly JsonSchemaNode[]): boolean {
  for (let i = 0; i < branches.length; i++) {
    for (let j = i + 1; j < branches.length; j++) {
      if (!disjoint(branches[i] as JsonSchemaNode, branches[j] as JsonSchemaNode)) return false;
    }
  }
  return true;
}

export function disjoint(a: JsonSchemaNode, b: JsonSchemaNode): boolean {
  if (!isRecord(a) || !isRecord(b)) return a === false || b === false;
  const typesA = typesOf(a);
  const typesB = typesOf(b);
  if (typesA !== undefined && typesB !== undefined) {
    const overlap = typesA.some(
      (type) =>
        typesB.includes(type) ||
        (type === 'integer' && typesB.includes('number')) ||
        (type === 'number' && typesB.includes('integer')),
    );
    if (!overlap) return true;
  }
  const valuesA = finiteValues(a);
  const valuesB = finiteValues(b);
  if (valuesA !== undefined && valuesB !== undefined) {
    return !valuesA.some((value) => valuesB.some((other) => sameJson(value, other)));
  }
  const propertiesA = isRecord(a.properties) ? a.properties : {};
  const propertiesB = isRecord(b.properties) ? b.properties : {};
  const requiredB = stringsOf(b.required);
  return stringsOf(a.required).some((key) => {
    if (!requiredB.includes(key)) return false;
    const left = propertiesA[key];
    const right = propertiesB[key];
    return isNode(left) && isNode(right) && disjoint(left, right);
  });
}

/**
 * A bound of a number: the tighter of the inclusive and exclusive keywords,
 * as an inclusive one for integers (`> 0` is `≥ 1`). `direction` is 1 for a
 * lower bound, -1 for an upper one.
 */
export function bound(
  node: JsonSchemaObject,
  inclusive: string,
  exclusive: string,
  integers: boolean,
  direction: 1 | -1,
): Bound | undefined {
  const candidates: Bound[] = [];
  if (typeof node[inclusive] === 'number') {
    const value = node[inclusive] as number;
    candidates.push({
      value: integers ? (direction === 1 ? Math.ceil(value) : Math.floor(value)) : value,
      exclusive: false,
    });
  }
  if (typeof node[exclusive] === 'number') {
    const value = node[exclusive] as number;
    candidates.push(
      integers
        ? {
            value: direction === 1 ? Math.floor(value) + 1 : Math.ceil(value) - 1,
            exclusive: false,
          }
        : { value, exclusive: true },
    );
  }
  let tightest: Bound | undefined;
  for (const candidate of candidates) {
    if (tightest === undefined || !within(tightest, candidate, direction)) tightest = candidate;
  }
  return tightest;
}

/** Whether every number `sent` allows is within `taken` (a lower bound for 1, an upper one for -1). */
export function within(
  sent: Bound | undefined,
  taken: Bound | undefined,
  direction: 1 | -1,
): boolean {
  if (taken === undefined) return true;
  if (sent === undefined) return false;
  const beyond = (sent.value - taken.value) * direction;
  if (beyond !== 0) return beyond > 0;
  return sent.exclusive || !taken.exclusive;
}

/** Whether every multiple of `sent` is a multiple of `taken`. */
export function isMultiple(sent: number, taken: number): boolean {
  const ratio = sent / taken;
  return Number.isInteger(ratio) && ratio * taken === sent;
}
