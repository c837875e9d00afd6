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
  | { readonly kind: 'string'; readonly min: number | undefined; readonly max: number | undefined }
  | {
      readonly kind: 'number';
      readonly int: boolean;
      readonly min: number | undefined;
      readonly max: number | undefined;
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
  | { readonly kind: 'nullable'; readonly inner: Shape }
  | { readonly kind: 'union'; readonly options: readonly Shape[] };

/** A property of an object shape. */
export interface Field {
  readonly name: string;
  readonly shape: Shape;
  readonly optional: boolean;
}

const NAMES = ['a', 'b', 'c', 'd'];
const WORDS = ['x', 'y', 'z', 'w'];

/** The zod schema a shape stands for. */
export function toZod(shape: Shape): z.ZodType {
  switch (shape.kind) {
    case 'string': {
      let schema = z.string();
      if (shape.min !== undefined) schema = schema.min(shape.min);
      if (shape.max !== undefined) schema = schema.max(shape.max);
      return schema;
    }
    case 'number': {
      let schema = shape.int ? z.int() : z.number();
      if (shape.min !== undefined) schema = schema.min(shape.min);
      if (shape.max !== undefined) schema = schema.max(shape.max);
      return schema;
    }
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
      const fields = Object.fromEntries(
        shape.fields.map((field) => {
          const schema = toZod(field.shape);
          return [field.name, field.optional ? schema.optional() : schema];
        }),
      );
      if (shape.mode === 'strict') return z.strictObject(fields);
      return shape.mode === 'loose' ? z.looseObject(fields) : z.object(fields);
    }
    case 'nullable':
      return toZod(shape.inner).nullable();
    case 'union':
      return z.union(shape.options.map(toZod) as [z.ZodType, z.ZodType, ...z.ZodType[]]);
  }
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
      const min = shape.min ?? 0;
      return fc.string({ minLength: min, maxLength: shape.max ?? min + 6 });
    }
    case 'number': {
      const min = shape.min ?? -1000;
      const max = shape.max ?? 1000;
      if (shape.int) return fc.integer({ min: Math.ceil(min), max: Math.floor(max) });
      return fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
    }
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

const leaf: fc.Arbitrary<Shape> = fc.oneof(
  bounds.map(({ min, max }): Shape => ({ kind: 'string', min, max })),
  fc
    .tuple(fc.boolean(), bounds)
    .map(([int, { min, max }]): Shape => ({ kind: 'number', int, min, max })),
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
    { weight: 1, arbitrary: inner.map((shape): Shape => ({ kind: 'nullable', inner: shape })) },
    {
      weight: 1,
      arbitrary: fc
        .array(inner, { minLength: 2, maxLength: 3 })
        .map((options): Shape => ({ kind: 'union', options })),
    },
  );
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
    case 'array':
      specific.push(bounds.map((moved): Shape => ({ ...shape, ...moved })));
      break;
    case 'number':
      specific.push(bounds.map((moved): Shape => ({ ...shape, ...moved })));
      specific.push(fc.constant<Shape>({ ...shape, int: !shape.int }));
      break;
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
