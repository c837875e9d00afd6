/**
 * Random zod schemas for the compatibility check's property test: a small
 * description of a schema (a shape), the zod schema it stands for, values
 * that schema accepts, and related shapes (a few edits away) so that many
 * pairs are compatible and many are not.
 */
import fc from 'fast-check';
import { z } from 'zod';

/** A schema, described: what the property test generates and edits. */
export type Shape =
  | {
      readonly kind: 'string';
      readonly min: number | undefined;
      readonly max: number | undefined;
      /** A prefix the string must start with (a pattern), if any. */
      readonly prefix: string | undefined;
    }
  | {
      readonly kind: 'number';
      readonly int: boolean;
      readonly min: number | undefined;
      readonly max: number | undefined;
      /** Bounds excluded (`gt`, `lt`) rather than included. */
      readonly exclusive: boolean;
      /** A `multipleOf` (integers only). */
      readonly step: number | undefined;
    }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | { readonly kind: 'literal'; readonly value: string | number }
  | {
      readonly kind: 'array';
      readonly item: Shape;
      readonly min: number | undefined;
      readonly max: number | undefined;
    }
  | {
      readonly kind: 'object';
      readonly mode: 'strip' | 'strict' | 'loose';
      readonly fields: readonly Field[];
    }
  | { readonly kind: 'tuple'; readonly items: readonly Shape[] }
  | { readonly kind: 'record'; readonly value: Shape }
  | { readonly kind: 'tagged'; readonly branches: readonly Branch[] }
  | { readonly kind: 'nullable'; readonly inner: Shape }
  | { readonly kind: 'union'; readonly options: readonly Shape[] };

/** A branch of a discriminated union: its `kind` tag and its other fields. */
export interface Branch {
  readonly tag: string;
  readonly fields: readonly Field[];
}

/** A property of an object shape. */
export interface Field {
  readonly name: string;
  readonly shape: Shape;
  readonly optional: boolean;
}

const NAMES = ['a', 'b', 'c', 'd'];
const TAGS = ['p', 'q', 'r'];
const PREFIXES = ['a', 'b'];
const WORDS = ['x', 'y', 'z', 'w'];

/** The zod schema a shape stands for. */
export function toZod(shape: Shape): z.ZodType {
  switch (shape.kind) {
    case 'string': {
      let schema = z.string();
      if (shape.min !== undefined) schema = schema.min(shape.min);
      if (shape.max !== undefined) schema = schema.max(shape.max);
      if (shape.prefix !== undefined) schema = schema.regex(new RegExp(`^${shape.prefix}`));
      return schema;
    }
    case 'number': {
      let schema = shape.int ? z.int() : z.number();
      if (shape.min !== undefined) {
        schema = shape.exclusive ? schema.gt(shape.min) : schema.min(shape.min);
      }
      if (shape.max !== undefined) {
        schema = shape.exclusive ? schema.lt(shape.max) : schema.max(shape.max);
      }
      if (shape.step !== undefined) schema = schema.multipleOf(shape.step);
      return schema;
    }
    case 'tuple':
      return z.tuple(shape.items.map(toZod) as [z.ZodType, ...z.ZodType[]]);
    case 'record':
      return z.record(z.string(), toZod(shape.value));
    case 'tagged':
      return z.discriminatedUnion(
        'kind',
        shape.branches.map((branch) =>
          z.object({ ...fieldsOf(branch.fields), kind: z.literal(branch.tag) }),
        ) as unknown as [z.ZodObject, ...z.ZodObject[]],
      );
    case 'boolean':
      return z.boolean();
    case 'enum':
      return z.enum(shape.values as [string, ...string[]]);
    case 'literal':
      return z.literal(shape.value);
    case 'array': {
      let schema = z.array(toZod(shape.item));
      if (shape.min !== undefined) schema = schema.min(shape.min);
      if (shape.max !== undefined) schema = schema.max(shape.max);
      return schema;
    }
    case 'object': {
      const fields = fieldsOf(shape.fields);
      if (shape.mode === 'strict') return z.strictObject(fields);
      return shape.mode === 'loose' ? z.looseObject(fields) : z.object(fields);
    }
    case 'nullable':
      return toZod(shape.inner).nullable();
    case 'union':
      return z.union(shape.options.map(toZod) as [z.ZodType, z.ZodType, ...z.ZodType[]]);
  }
}

function fieldsOf(fields: readonly Field[]): Record<string, z.ZodType> {
  return Object.fromEntries(
    fields.map((field) => {
      const schema = toZod(field.shape);
      return [field.name, field.optional ? schema.optional() : schema];
    }),
  );
}

/** A JSON value of any kind: what a loose object may carry beside its fields. */
const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -5, max: 5 }),
  fc.string({ maxLength: 3 }),
);

/** Values the shape's zod schema accepts (a loose object may hold fields it does not name). */
export function valuesOf(shape: Shape): fc.Arbitrary<unknown> {
  switch (shape.kind) {
    case 'string': {
      const prefix = shape.prefix ?? '';
      const min = Math.max(0, (shape.min ?? 0) - prefix.length);
      const max = (shape.max ?? min + prefix.length + 6) - prefix.length;
      return fc.string({ minLength: min, maxLength: max }).map((rest) => prefix + rest);
    }
    case 'number': {
      const min = shape.min ?? -1000;
      const max = shape.max ?? 1000;
      const { exclusive, step } = shape;
      if (shape.int) {
        const low = exclusive ? Math.floor(min) + 1 : Math.ceil(min);
        const high = exclusive ? Math.ceil(max) - 1 : Math.floor(max);
        if (step === undefined) return fc.integer({ min: low, max: high });
        return fc
          .integer({ min: Math.ceil(low / step), max: Math.floor(high / step) })
          .map((times) => times * step);
      }
      // fast-check orders -0 below 0, so "below 0, excluded" can give -0, which equals 0 and
      // fails the schema: leave out anything equal to an excluded bound.
      return fc
        .double({ min, max, minExcluded: exclusive, maxExcluded: exclusive, noNaN: true })
        .filter((value) => !exclusive || (value !== min && value !== max));
    }
    case 'tuple':
      return fc.tuple(...shape.items.map(valuesOf));
    case 'record':
      return fc.dictionary(fc.constantFrom('k', 'l', 'a'), valuesOf(shape.value), { maxKeys: 2 });
    case 'tagged':
      return fc.oneof(
        ...shape.branches.map((branch) =>
          valuesOf({ kind: 'object', mode: 'strip', fields: branch.fields }).map((value) => ({
            ...(value as object),
            kind: branch.tag,
          })),
        ),
      );
    case 'boolean':
      return fc.boolean();
    case 'enum':
      return fc.constantFrom(...shape.values);
    case 'literal':
      return fc.constant(shape.value);
    case 'array': {
      const min = shape.min ?? 0;
      return fc.array(valuesOf(shape.item), { minLength: min, maxLength: shape.max ?? min + 3 });
    }
    case 'object': {
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const field of shape.fields) record[field.name] = valuesOf(field.shape);
      const required = shape.fields.filter((field) => !field.optional).map((field) => field.name);
      const declared = fc.record(record, { requiredKeys: required });
      if (shape.mode !== 'loose') return declared;
      const others = fc.dictionary(fc.constantFrom('e', 'f', ...NAMES), anyJson, { maxKeys: 2 });
      return fc.tuple(declared, others).map(([fields, extra]) => {
        const value: Record<string, unknown> = { ...fields };
        for (const [key, item] of Object.entries(extra)) {
          if (!shape.fields.some((field) => field.name === key)) value[key] = item;
        }
        return value;
      });
    }
    case 'nullable':
      return fc.oneof(fc.constant(null), valuesOf(shape.inner));
    case 'union':
      return fc.oneof(...shape.options.map(valuesOf));
  }
}

const bound = fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined });

/** Two bounds, the lower not above the upper. */
const bounds = fc
  .tuple(bound, bound)
  .map(([min, max]) =>
    min !== undefined && max !== undefined && min > max ? { min: max, max: min } : { min, max },
  );

const prefixOf = fc.option(fc.constantFrom(...PREFIXES), { nil: undefined });

/** A string shape; a prefix only where the length bounds leave room for it. */
const stringOf = (
  min: number | undefined,
  max: number | undefined,
  prefix: string | undefined,
): Shape => ({
  kind: 'string',
  min,
  max,
  prefix: max === 0 ? undefined : prefix,
});

/** A number shape: bounds that leave a value in, a step for integers only. */
function numberOf(
  int: boolean,
  min: number | undefined,
  max: number | undefined,
  exclusive: boolean,
  step: number | undefined,
): Shape {
  // Excluded bounds need a value between them: two apart for integers.
  const room = min === undefined || max === undefined || max - min >= (int ? 2 : 1);
  const withStep =
    int && step !== undefined && (min === undefined || max === undefined || max - min >= 2 * step);
  return {
    kind: 'number',
    int,
    min,
    max,
    exclusive: exclusive && room,
    step: withStep ? step : undefined,
  };
}

const leaf: fc.Arbitrary<Shape> = fc.oneof(
  fc.tuple(bounds, prefixOf).map(([{ min, max }, prefix]) => stringOf(min, max, prefix)),
  fc
    .tuple(fc.boolean(), bounds, fc.boolean(), fc.option(fc.constantFrom(2, 3), { nil: undefined }))
    .map(([int, { min, max }, exclusive, step]) => numberOf(int, min, max, exclusive, step)),
  fc.constant<Shape>({ kind: 'boolean' }),
  fc
    .uniqueArray(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 3 })
    .map((values): Shape => ({ kind: 'enum', values })),
  fc
    .oneof(fc.constantFrom(...WORDS), fc.integer({ min: 0, max: 2 }))
    .map((value): Shape => ({ kind: 'literal', value })),
);

/** A random shape, `depth` levels of containers at most. */
export function shapeOf(depth: number): fc.Arbitrary<Shape> {
  if (depth <= 0) return leaf;
  const inner = shapeOf(depth - 1);
  return fc.oneof(
    { weight: 3, arbitrary: leaf },
    {
      weight: 1,
      arbitrary: fc
        .tuple(inner, bounds)
        .map(([item, { min, max }]): Shape => ({ kind: 'array', item, min, max })),
    },
    { weight: 3, arbitrary: objectOf(inner) },
    {
      weight: 1,
      arbitrary: fc
        .array(inner, { minLength: 1, maxLength: 3 })
        .map((items): Shape => ({ kind: 'tuple', items })),
    },
    { weight: 1, arbitrary: inner.map((value): Shape => ({ kind: 'record', value })) },
    { weight: 1, arbitrary: taggedOf(inner) },
    { weight: 1, arbitrary: inner.map((shape): Shape => ({ kind: 'nullable', inner: shape })) },
    {
      weight: 1,
      arbitrary: fc
        .array(inner, { minLength: 2, maxLength: 3 })
        .map((options): Shape => ({ kind: 'union', options })),
    },
  );
}

function taggedOf(inner: fc.Arbitrary<Shape>): fc.Arbitrary<Shape> {
  const fields = objectOf(inner).map((shape) => (shape.kind === 'object' ? shape.fields : []));
  return fc
    .uniqueArray(fc.constantFrom(...TAGS), { minLength: 1, maxLength: 3 })
    .chain((tags) =>
      fc.tuple(...tags.map((tag) => fields.map((branch): Branch => ({ tag, fields: branch })))),
    )
    .map((branches): Shape => ({ kind: 'tagged', branches }));
}

function objectOf(inner: fc.Arbitrary<Shape>): fc.Arbitrary<Shape> {
  const field = fc.record({ shape: inner, optional: fc.boolean() });
  return fc
    .tuple(
      fc.constantFrom<'strip' | 'strict' | 'loose'>('strip', 'strict', 'loose'),
      fc.uniqueArray(fc.constantFrom(...NAMES), { maxLength: 3 }),
      fc.array(field, { minLength: 3, maxLength: 3 }),
    )
    .map(
      ([mode, names, fields]): Shape => ({
        kind: 'object',
        mode,
        fields: names.map((name, index) => ({ name, ...(fields[index] as Omit<Field, 'name'>) })),
      }),
    );
}

/** A shape a few edits from `shape`: a bound moved, a field added or made optional, a type changed… */
export function editOf(shape: Shape, edits: number): fc.Arbitrary<Shape> {
  if (edits <= 0) return fc.constant(shape);
  return editOnce(shape).chain((edited) => editOf(edited, edits - 1));
}

function editOnce(shape: Shape): fc.Arbitrary<Shape> {
  const here = editHere(shape);
  const below = editBelow(shape);
  return below === undefined ? here : fc.oneof(here, below);
}

/** An edit of the shape itself. */
function editHere(shape: Shape): fc.Arbitrary<Shape> {
  const general: fc.Arbitrary<Shape>[] = [
    fc.constant<Shape>({ kind: 'nullable', inner: shape }),
    shapeOf(1),
    leaf.map((other): Shape => ({ kind: 'union', options: [shape, other] })),
  ];
  const specific: fc.Arbitrary<Shape>[] = [];
  switch (shape.kind) {
    case 'string':
      specific.push(bounds.map(({ min, max }) => stringOf(min, max, shape.prefix)));
      specific.push(prefixOf.map((prefix) => stringOf(shape.min, shape.max, prefix)));
      break;
    case 'array':
      specific.push(bounds.map((moved): Shape => ({ ...shape, ...moved })));
      break;
    case 'number': {
      const { int, min, max, exclusive, step } = shape;
      specific.push(bounds.map((moved) => numberOf(int, moved.min, moved.max, exclusive, step)));
      specific.push(fc.constant(numberOf(!int, min, max, exclusive, step)));
      specific.push(fc.constant(numberOf(int, min, max, !exclusive, step)));
      specific.push(
        fc
          .constantFrom(undefined, 2, 3, 6)
          .map((other) => numberOf(int, min, max, exclusive, other)),
      );
      break;
    }
    case 'tuple':
      specific.push(leaf.map((item): Shape => ({ ...shape, items: [...shape.items, item] })));
      if (shape.items.length > 1)
        specific.push(fc.constant<Shape>({ ...shape, items: shape.items.slice(0, -1) }));
      break;
    case 'tagged': {
      const used = shape.branches.map((branch) => branch.tag);
      const free = TAGS.filter((tag) => !used.includes(tag));
      if (free.length > 0) {
        specific.push(
          fc
            .constantFrom(...free)
            .map(
              (tag): Shape => ({ ...shape, branches: [...shape.branches, { tag, fields: [] }] }),
            ),
        );
      }
      if (shape.branches.length > 1) {
        specific.push(fc.constant<Shape>({ ...shape, branches: shape.branches.slice(1) }));
      }
      break;
    }
    case 'enum':
      specific.push(
        fc
          .uniqueArray(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 4 })
          .map((values): Shape => ({ kind: 'enum', values })),
      );
      break;
    case 'object':
      specific.push(
        fc
          .constantFrom<'strip' | 'strict' | 'loose'>('strip', 'strict', 'loose')
          .map((mode): Shape => ({ ...shape, mode })),
        fc.record({ name: fc.constantFrom(...NAMES), shape: leaf, optional: fc.boolean() }).map(
          (field): Shape => ({
            ...shape,
            fields: [...shape.fields.filter((other) => other.name !== field.name), field],
          }),
        ),
      );
      if (shape.fields.length > 0) {
        specific.push(
          fc.nat(shape.fields.length - 1).map(
            (index): Shape => ({
              ...shape,
              fields: shape.fields.filter((_, at) => at !== index),
            }),
          ),
          fc.nat(shape.fields.length - 1).map(
            (index): Shape => ({
              ...shape,
              fields: shape.fields.map((field, at) =>
                at === index ? { ...field, optional: !field.optional } : field,
              ),
            }),
          ),
        );
      }
      break;
    case 'nullable':
      specific.push(fc.constant(shape.inner));
      break;
    case 'union':
      specific.push(fc.constant(shape.options[0] as Shape));
      break;
    default:
      break;
  }
  return fc.oneof(...general, ...specific, ...specific);
}

/** An edit of one part inside the shape, if it has parts. */
function editBelow(shape: Shape): fc.Arbitrary<Shape> | undefined {
  switch (shape.kind) {
    case 'array':
      return editOnce(shape.item).map((item): Shape => ({ ...shape, item }));
    case 'nullable':
      return editOnce(shape.inner).map((inner): Shape => ({ ...shape, inner }));
    case 'record':
      return editOnce(shape.value).map((value): Shape => ({ ...shape, value }));
    case 'tuple':
      return fc.nat(shape.items.length - 1).chain((index) =>
        editOnce(shape.items[index] as Shape).map(
          (edited): Shape => ({
            ...shape,
            items: shape.items.map((item, at) => (at === index ? edited : item)),
          }),
        ),
      );
    case 'tagged':
      return fc.nat(shape.branches.length - 1).chain((index) => {
        const branch = shape.branches[index] as Branch;
        return editOnce({ kind: 'object', mode: 'strip', fields: branch.fields }).map(
          (edited): Shape => ({
            ...shape,
            branches: shape.branches.map((other, at) =>
              at === index && edited.kind === 'object'
                ? { tag: other.tag, fields: edited.fields }
                : other,
            ),
          }),
        );
      });
    case 'object': {
      if (shape.fields.length === 0) return undefined;
      return fc.nat(shape.fields.length - 1).chain((index) =>
        editOnce((shape.fields[index] as Field).shape).map(
          (edited): Shape => ({
            ...shape,
            fields: shape.fields.map((field, at) =>
              at === index ? { ...field, shape: edited } : field,
            ),
          }),
        ),
      );
    }
    case 'union':
      return fc.nat(shape.options.length - 1).chain((index) =>
        editOnce(shape.options[index] as Shape).map(
          (edited): Shape => ({
            ...shape,
            options: shape.options.map((option, at) => (at === index ? edited : option)),
          }),
        ),
      );
    default:
      return undefined;
  }
}
