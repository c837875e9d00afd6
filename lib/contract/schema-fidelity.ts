/**
 * Where a zod schema does more than its JSON Schema says. `z.toJSONSchema`
 * drops refinements and transforms, writes `{}` for what JSON cannot hold
 * (dates, bigints, `z.custom`), and describes coercions and `.catch()` by
 * the type they produce. Compared as JSON Schema, such a spot would look
 * safer than it is, so this walk over zod's definitions finds each one and
 * says for which side it matters: a receiver that rejects more than its JSON
 * Schema says, or a sender that may send more. Every construct not known to
 * be faithful counts as unfaithful on both sides.
 */
import type { z } from 'zod';
import { propertyPath } from './json-schema-values.js';

/** Which end of a message a spot matters for. */
export type SchemaSide = 'sender' | 'receiver';

/** A spot of a zod schema whose JSON Schema is not the whole truth. */
export interface UnfaithfulSpot {
  /** Where in the message, as the comparison writes paths (`$.items[].price`). */
  readonly path: string;
  /** What zod does there that JSON Schema does not say. */
  readonly reason: string;
  /** For which side it matters. */
  readonly sides: readonly SchemaSide[];
  /** The zod node, and the nodes above it, each with its path: one of them shared excuses it. */
  readonly chain: readonly { readonly path: string; readonly node: object }[];
  /**
   * Whether JSON Schema says more than the sender sends here (a refinement,
   * a type written as "any value"): a difference found below it may not be
   * met by any real message, so it is not proven breaking.
   */
  readonly overstates?: true;
  /**
   * A spot the other schema matches by having one of the same tag at the
   * same path: a coercion to the same type on both ends (`coerce:number`).
   */
  readonly tag?: string;
}

/** The unfaithful spots of one schema, its zod nodes by path, and where it has alternatives. */
export interface SchemaFidelity {
  readonly spots: readonly UnfaithfulSpot[];
  readonly nodesAt: ReadonlyMap<string, ReadonlySet<object>>;
  /** Paths of unions and intersections: a tag met there may be in another branch. */
  readonly branching: ReadonlySet<string>;
}

/** Kinds of zod check that JSON Schema states exactly (per the type they are on). */
const FAITHFUL_CHECKS = new Set([
  'less_than',
  'greater_than',
  'multiple_of',
  'number_format',
  'min_length',
  'max_length',
  'length_equals',
  'string_format',
  'regex',
  'lowercase',
  'uppercase',
  'includes',
  'starts_with',
  'ends_with',
]);

/** Types that hold nothing JSON cannot carry: their JSON Schema says all they check. */
const LEAVES = new Set(['string', 'number', 'boolean', 'null', 'any', 'unknown', 'never', 'enum']);

/** Wrappers whose JSON Schema is their inner type's (with `null` or optionality). */
const WRAPPERS = new Set([
  'optional',
  'nullable',
  'default',
  'prefault',
  'readonly',
  'nonoptional',
]);

const BOTH: readonly SchemaSide[] = ['sender', 'receiver'];

type Definition = z.core.$ZodTypeDef & Record<string, unknown>;

/** Records a spot at the node being inspected. */
type Mark = (
  reason: string,
  sides?: readonly SchemaSide[],
  extra?: Pick<UnfaithfulSpot, 'overstates' | 'tag'>,
) => void;

/** For a receiver it rejects more than JSON Schema says; for a sender, it sends less. */
const NARROWS = { overstates: true } as const;

/** Walks `schema` and gathers its unfaithful spots. */
export function readFidelity(schema: z.ZodType): SchemaFidelity {
  const spots: UnfaithfulSpot[] = [];
  const nodesAt = new Map<string, Set<object>>();
  const branching = new Set<string>();
  const stack: { path: string; node: object }[] = [];
  const onStack = new Set<object>();

  const visit = (node: z.core.$ZodType, path: string): void => {
    if (onStack.has(node)) return; // a recursive schema: its spots were found the first time round
    const entry = { path, node };
    stack.push(entry);
    onStack.add(node);
    const atPath = nodesAt.get(path) ?? new Set<object>();
    nodesAt.set(path, atPath);
    atPath.add(node);
    const mark: Mark = (reason, sides = BOTH, extra = {}) => {
      spots.push({ path, reason, sides, chain: [...stack].reverse(), ...extra });
    };
    const def = node._zod.def as Definition;
    if (def.type === 'union' || def.type === 'intersection') branching.add(path);
    inspect(def, path, visit, mark);
    stack.pop();
    onStack.delete(node);
  };
  visit(schema, '$');
  return { spots, nodesAt, branching };
}

function inspect(
  def: Definition,
  path: string,
  visit: (node: z.core.$ZodType, path: string) => void,
  mark: Mark,
): void {
  for (const check of (def.checks ?? []) as z.core.$ZodCheck[]) {
    const kind = check._zod.def.check;
    if (kind === 'custom') {
      mark('a refinement (.refine, .superRefine, .check)', ['receiver'], NARROWS);
    } else if (kind === 'overwrite')
      mark('a value rewritten before its checks (.trim, .toLowerCase…)');
    // A check JSON Schema leaves out only narrows what a sender sends: it matters to receivers.
    else if (!FAITHFUL_CHECKS.has(kind))
      mark(`a check JSON Schema cannot state (${kind})`, ['receiver'], NARROWS);
  }
  if (def.coerce === true) {
    // Coerced the same way at both ends, the values compare as what they become.
    mark('a coercion (z.coerce) that accepts other types', ['sender'], {
      tag: `coerce:${def.type}`,
    });
  }
  const child = (key: string): z.core.$ZodType => def[key] as z.core.$ZodType;
  switch (def.type) {
    case 'object': {
      for (const [key, value] of Object.entries(def.shape as Record<string, z.core.$ZodType>)) {
        visit(value, propertyPath(path, key));
      }
      if (def.catchall !== undefined) visit(child('catchall'), `${path}.*`);
      return;
    }
    case 'array':
      visit(child('element'), `${path}[]`);
      return;
    case 'tuple': {
      (def.items as z.core.$ZodType[]).forEach((item, index) => {
        visit(item, `${path}[${index}]`);
      });
      if (def.rest !== null && def.rest !== undefined) visit(child('rest'), `${path}[]`);
      return;
    }
    case 'union':
      for (const option of def.options as z.core.$ZodType[]) visit(option, path);
      return;
    case 'intersection': {
      // zod writes an intersection of objects as one object, and loses an open part's openness.
      const open = [child('left'), child('right')].some((part) => {
        const inner = part._zod.def as Definition;
        return inner.type === 'object' && inner.catchall !== undefined;
      });
      if (open) mark('an intersection with an open object (loose, catchall)', ['sender']);
      visit(child('left'), path);
      visit(child('right'), path);
      return;
    }
    case 'record': {
      const key = child('keyType')._zod.def as Definition;
      if (key.type !== 'string' || (key.checks?.length ?? 0) > 0 || def.mode === 'loose') {
        mark('a record whose keys are not any string');
      }
      visit(child('valueType'), `${path}.*`);
      return;
    }
    case 'literal':
      if (!(def.values as unknown[]).every(isJsonPrimitive)) {
        mark('a literal JSON cannot hold', ['receiver'], NARROWS);
      }
      return;
    case 'template_literal':
      // zod checks a template literal by the pattern it writes into the JSON Schema.
      return;
    case 'lazy':
      visit((def.getter as () => z.core.$ZodType)(), path);
      return;
    case 'catch':
      mark('a .catch(): it accepts any value there', ['sender']);
      visit(child('innerType'), path);
      return;
    case 'pipe': {
      mark('a pipe or transform: what comes out is checked again', ['receiver'], NARROWS);
      const input = child('in');
      if ((input._zod.def as Definition).type === 'transform') {
        mark('a preprocess: it accepts what its function turns into a match', ['sender']);
      }
      visit(input, path);
      return;
    }
    default:
      if (WRAPPERS.has(def.type)) visit(child('innerType'), path);
      // JSON Schema writes these as "any value": more than a sender sends, more than a receiver takes.
      else if (!LEAVES.has(def.type)) mark(`a zod ${def.type}`, ['receiver'], NARROWS);
  }
}

function isJsonPrimitive(value: unknown): boolean {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

/**
 * Whether `spot` is matched in the other schema: by a node both share at
 * the same path (the same code), or by a spot of the same tag there.
 */
export function isShared(spot: UnfaithfulSpot, other: SchemaFidelity): boolean {
  if (spot.tag !== undefined && !other.branching.has(spot.path)) {
    const { tag, path } = spot;
    if (other.spots.some((found) => found.tag === tag && found.path === path)) return true;
  }
  return spot.chain.some(({ path, node }) => other.nodesAt.get(path)?.has(node) === true);
}
