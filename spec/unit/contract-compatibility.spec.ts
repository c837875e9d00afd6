/**
 * The schema evolution check: each rule on a table of schema pairs, both
 * directions of a rolling deploy; route changes; the report text and exit
 * status; `warren check` on built contract modules; and the promise the
 * check makes, tested on random schemas: when it says 'compatible' for a
 * direction, every message the sender may send parses at the receiver.
 */
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runCli } from '../../lib/contract/cli.js';
import {
  type CompatibilityDirection,
  type CompatibilityReport,
  type CompatibilityVerdict,
  compareContracts,
} from '../../lib/contract/compatibility.js';
import {
  compatibilityExitCode,
  formatCompatibilityReport,
} from '../../lib/contract/compatibility-report.js';
import { defineContract } from '../../lib/contract/contract.js';
import { loadContract } from '../../lib/contract/load-contract.js';
import {
  defineConsumer,
  defineExchange,
  defineMessage,
  definePublisher,
  defineQueue,
  defineRpc,
} from '../../lib/contract/model.js';
import { editOf, shapeOf, toZod, valuesOf } from './schema-shapes.js';

const queue = defineQueue('q');

/** Two one-message contracts with these schemas, compared. */
function compareSchemas(previous: z.ZodType, next: z.ZodType): CompatibilityReport {
  const contract = (schema: z.ZodType) =>
    defineContract({
      queues: { queue },
      consumers: { read: defineConsumer(queue, defineMessage('m', schema)) },
    });
  return compareContracts(contract(previous), contract(next));
}

/** The verdict for one direction: the worst of its findings. */
function verdictOf(
  report: CompatibilityReport,
  direction: CompatibilityDirection,
): CompatibilityVerdict {
  const verdicts = (report.messages[0]?.findings ?? [])
    .filter((finding) => finding.direction === direction)
    .map((finding) => finding.verdict);
  if (verdicts.includes('breaking')) return 'breaking';
  return verdicts.includes('unknown') ? 'unknown' : 'compatible';
}

type Row = readonly [
  rule: string,
  previous: z.ZodType,
  next: z.ZodType,
  oldReceivers: CompatibilityVerdict,
  newReceivers: CompatibilityVerdict,
];

const sharedRefinement = z.string().refine((text) => text.includes('@'));
const Tree: z.ZodType = z.object({
  value: z.number(),
  get children() {
    return z.array(Tree);
  },
});
const IntTree: z.ZodType = z.object({
  value: z.int(),
  get children() {
    return z.array(IntTree);
  },
});
const SameTree: z.ZodType = z.object({
  value: z.number(),
  get children() {
    return z.array(SameTree);
  },
});
const tagged = (...tags: string[]) =>
  z.discriminatedUnion(
    'kind',
    tags.map((tag) => z.object({ kind: z.literal(tag), at: z.string() })) as [
      z.ZodObject<{ kind: z.ZodLiteral<string>; at: z.ZodString }>,
      ...z.ZodObject<{ kind: z.ZodLiteral<string>; at: z.ZodString }>[],
    ],
  );

// Each row: the rule, the previous and next schema, then the verdict for old receivers reading
// new messages and for new receivers reading old messages.
const ROWS: readonly Row[] = [
  // Objects
  [
    'an unchanged object',
    z.object({ a: z.string() }),
    z.object({ a: z.string() }),
    'compatible',
    'compatible',
  ],
  [
    'a field became required',
    z.object({ a: z.string() }),
    z.object({ a: z.string(), b: z.number() }),
    'compatible',
    'breaking',
  ],
  [
    'an optional field added',
    z.object({ a: z.string() }),
    z.object({ a: z.string(), b: z.number().optional() }),
    'compatible',
    'compatible',
  ],
  [
    'an optional field added, old receivers strict',
    z.strictObject({ a: z.string() }),
    z.strictObject({ a: z.string(), b: z.number().optional() }),
    'breaking',
    'compatible',
  ],
  [
    'a required field made optional',
    z.object({ a: z.string(), b: z.number() }),
    z.object({ a: z.string(), b: z.number().optional() }),
    'breaking',
    'compatible',
  ],
  [
    'a required field removed',
    z.object({ a: z.string(), b: z.number() }),
    z.object({ a: z.string() }),
    'breaking',
    'compatible',
  ],
  [
    'a field removed, new receivers strict',
    z.strictObject({ a: z.string(), b: z.number().optional() }),
    z.strictObject({ a: z.string() }),
    'compatible',
    'breaking',
  ],
  [
    'a default added (the sender may leave it out)',
    z.object({ a: z.string() }),
    z.object({ a: z.string().default('x') }),
    'breaking',
    'compatible',
  ],
  [
    'a loose object made strict',
    z.looseObject({ a: z.string() }),
    z.strictObject({ a: z.string() }),
    'compatible',
    'breaking',
  ],
  [
    'a catchall narrowed',
    z.object({ a: z.string() }).catchall(z.number()),
    z.object({ a: z.string() }).catchall(z.int()),
    'compatible',
    'breaking',
  ],
  [
    "a record's values narrowed",
    z.record(z.string(), z.number()),
    z.record(z.string(), z.int()),
    'compatible',
    'breaking',
  ],
  // Types
  [
    'a type changed',
    z.object({ a: z.string() }),
    z.object({ a: z.number() }),
    'breaking',
    'breaking',
  ],
  ['an integer widened to a number', z.int(), z.number(), 'breaking', 'compatible'],
  ['null allowed', z.string(), z.string().nullable(), 'breaking', 'compatible'],
  [
    'null no longer allowed (an object)',
    z.object({ a: z.string() }).nullable(),
    z.object({ a: z.string() }),
    'compatible',
    'breaking',
  ],
  ['a union widened', z.string(), z.union([z.string(), z.number()]), 'breaking', 'compatible'],
  // Enums and literals
  ['an enum narrowed', z.enum(['x', 'y']), z.enum(['x']), 'compatible', 'breaking'],
  ['an enum widened', z.enum(['x']), z.enum(['x', 'y']), 'breaking', 'compatible'],
  ['a literal changed', z.literal('x'), z.literal('y'), 'breaking', 'breaking'],
  ['a string narrowed to an enum', z.string(), z.enum(['x']), 'compatible', 'breaking'],
  ['a literal widened to its type', z.literal(3), z.int(), 'breaking', 'compatible'],
  // String constraints
  ['a minimum length raised', z.string().min(1), z.string().min(3), 'compatible', 'breaking'],
  ['a maximum length lowered', z.string().max(10), z.string().max(5), 'compatible', 'breaking'],
  ['a pattern added', z.string(), z.string().regex(/^a/), 'compatible', 'breaking'],
  ['a pattern changed', z.string().regex(/^a/), z.string().regex(/^b/), 'unknown', 'unknown'],
  ['a format added', z.string(), z.email(), 'compatible', 'breaking'],
  ['a format kept', z.email(), z.email(), 'compatible', 'compatible'],
  // Number constraints
  ['a minimum raised', z.number().min(0), z.number().min(1), 'compatible', 'breaking'],
  [
    'an exclusive minimum made inclusive',
    z.number().gt(0),
    z.number().min(0),
    'breaking',
    'compatible',
  ],
  [
    'an integer bound written another way',
    z.int().gt(0),
    z.int().min(1),
    'compatible',
    'compatible',
  ],
  ['a step coarsened', z.number().multipleOf(2), z.number().multipleOf(4), 'compatible', 'unknown'],
  // Arrays
  [
    'a minimum item count raised',
    z.array(z.string()),
    z.array(z.string()).min(1),
    'compatible',
    'breaking',
  ],
  ['an item type changed', z.array(z.string()), z.array(z.number()), 'breaking', 'breaking'],
  [
    'a tuple element narrowed',
    z.tuple([z.string(), z.number()]),
    z.tuple([z.string(), z.int()]),
    'compatible',
    'breaking',
  ],
  [
    'a tuple lengthened',
    z.tuple([z.string()]),
    z.tuple([z.string(), z.number()]),
    'breaking',
    'breaking',
  ],
  // Unions
  [
    'a tagged union given a branch',
    tagged('a', 'b'),
    tagged('a', 'b', 'c'),
    'breaking',
    'compatible',
  ],
  ['a tagged union lost a branch', tagged('a', 'b'), tagged('a'), 'compatible', 'breaking'],
  [
    'an exclusive union of overlapping branches',
    z.string(),
    z.xor([z.string(), z.string().min(1)]),
    'compatible',
    'unknown',
  ],
  // References
  ['a recursive schema, the same shape', Tree, SameTree, 'compatible', 'compatible'],
  ['a recursive schema narrowed inside', Tree, IntTree, 'compatible', 'breaking'],
  // What JSON Schema does not show
  [
    'an intersection that opens an object',
    z.intersection(z.looseObject({ a: z.string() }), z.object({ b: z.string() })),
    z.strictObject({ a: z.string(), b: z.string() }),
    'compatible',
    'unknown',
  ],
  [
    'a refinement added',
    z.string(),
    z.string().refine((text) => text.length > 1),
    'compatible',
    'unknown',
  ],
  [
    'one refinement shared by both',
    z.object({ a: sharedRefinement }),
    z.object({ a: sharedRefinement, b: z.number().optional() }),
    'compatible',
    'compatible',
  ],
  [
    'a transform at both ends',
    z.string().transform((text) => text.length),
    z.string().transform((text) => text.length),
    'unknown',
    'unknown',
  ],
  [
    'a date at both ends',
    z.object({ at: z.date() }),
    z.object({ at: z.date() }),
    'unknown',
    'unknown',
  ],
  [
    'the same coercion at both ends',
    z.coerce.number().min(0),
    z.coerce.number().min(0),
    'compatible',
    'compatible',
  ],
  ['a coercion dropped', z.coerce.number(), z.number(), 'compatible', 'unknown'],
  ['a catch dropped', z.number().catch(0), z.number(), 'compatible', 'unknown'],
  [
    'a custom schema',
    z.object({ a: z.custom<string>((value) => typeof value === 'string') }),
    z.object({ a: z.string() }),
    'unknown',
    'unknown',
  ],
  [
    'a refinement on the sender: a narrowed bound is not proven breaking',
    z.string().refine((text) => text.length > 3),
    z.string().min(2),
    'unknown',
    'unknown',
  ],
];

describe('compareContracts: schema rules, both directions', () => {
  it.each(ROWS)('%s', (_rule, previous, next, oldReceivers, newReceivers) => {
    const report = compareSchemas(previous, next);
    expect({
      'old-receivers': verdictOf(report, 'old-receivers'),
      'new-receivers': verdictOf(report, 'new-receivers'),
    }).toEqual({ 'old-receivers': oldReceivers, 'new-receivers': newReceivers });
    expect(report.messages[0]?.verdict).toBe(
      [oldReceivers, newReceivers].includes('breaking')
        ? 'breaking'
        : [oldReceivers, newReceivers].includes('unknown')
          ? 'unknown'
          : 'compatible',
    );
  });

  it('says where and what: the path into the body, the change, the receivers it breaks', () => {
    const report = compareSchemas(
      z.object({ order: z.object({ items: z.array(z.object({ price: z.number() })) }) }),
      z.object({
        order: z.object({ items: z.array(z.object({ price: z.number(), sku: z.string() })) }),
      }),
    );
    expect(report.messages[0]?.findings).toEqual([
      {
        path: '$.order.items[].sku',
        change: 'missing-required',
        verdict: 'breaking',
        direction: 'new-receivers',
        detail: "new receivers require 'sku'; old messages lack it",
      },
    ]);
  });

  it('reads one schema object in both contracts as unchanged without comparing', () => {
    const schema = z.object({ at: z.date() });
    const report = compareSchemas(schema, schema);
    expect(report.messages[0]).toEqual({
      name: 'm',
      status: 'unchanged',
      verdict: 'compatible',
      findings: [],
    });
  });

  it('calls a message only in the next contract added, and compatible', () => {
    const only = defineMessage('new.one', z.object({}));
    const report = compareContracts(defineContract({}), defineContract({ messages: { only } }));
    expect(report.messages).toEqual([
      { name: 'new.one', status: 'added', verdict: 'compatible', findings: [] },
    ]);
    expect(report.verdict).toBe('compatible');
  });

  it('answers unknown for a schema it cannot read (not zod 4)', () => {
    const foreign = { safeParse: () => ({ success: true }) } as unknown as z.ZodType;
    const report = compareSchemas(z.string(), foreign);
    expect(report.messages[0]?.verdict).toBe('unknown');
    expect(report.messages[0]?.findings[0]?.detail).toMatch(
      /^its schema cannot be read as a zod 4 schema/,
    );
  });

  it('refuses what is not a contract, before comparing anything', () => {
    expect(() => compareContracts({} as never, defineContract({}))).toThrow(
      new TypeError('compareContracts: previous must be a contract from defineContract'),
    );
  });
});

describe('compareContracts: routes', () => {
  const orders = defineExchange('orders', 'topic');
  const created = defineMessage('order.created', z.object({ id: z.string() }));
  const cancelled = defineMessage('order.cancelled', z.object({ id: z.string() }));
  const reply = defineMessage('order.status', z.object({ state: z.string() }));
  const other = defineQueue('other');
  const base = {
    exchanges: { orders },
    queues: { queue, other },
    publishers: { created: definePublisher(orders, 'order.created', created) },
    consumers: { work: defineConsumer(queue, [created, cancelled]) },
    rpc: { status: defineRpc(queue, created, reply) },
  };
  const routesOf = (next: Parameters<typeof defineContract>[0]) =>
    compareContracts(defineContract(base), defineContract(next)).routes.map(
      ({ route, name, change, direction }) => ({ route, name, change, direction }),
    );

  it('finds nothing when the routes are the same, or only renamed', () => {
    expect(routesOf(base)).toEqual([]);
    expect(routesOf({ ...base, publishers: { orderCreated: base.publishers.created } })).toEqual(
      [],
    );
  });

  it('finds a publisher moved to another routing key, or removed', () => {
    expect(
      routesOf({
        ...base,
        publishers: { created: definePublisher(orders, 'order.placed', created) },
      }),
    ).toEqual([
      {
        route: 'publisher',
        name: 'created',
        change: 'publisher-moved',
        direction: 'old-receivers',
      },
    ]);
    expect(routesOf({ ...base, publishers: {} })).toEqual([
      { route: 'publisher', name: 'created', change: 'publisher-removed', direction: undefined },
    ]);
  });

  it('finds a consumer moved to another queue, and kinds dropped or added', () => {
    expect(
      routesOf({ ...base, consumers: { work: defineConsumer(other, [created, cancelled]) } }),
    ).toEqual([
      { route: 'consumer', name: 'work', change: 'consumer-moved', direction: 'new-receivers' },
    ]);
    const findings = routesOf({
      ...base,
      consumers: { work: defineConsumer(queue, [created, reply]) },
    });
    expect(findings).toEqual([
      {
        route: 'consumer',
        name: 'work',
        change: 'consumer-kinds-changed',
        direction: 'new-receivers',
      },
      {
        route: 'consumer',
        name: 'work',
        change: 'consumer-kinds-changed',
        direction: 'old-receivers',
      },
      {
        route: 'message',
        name: 'order.cancelled',
        change: 'message-removed',
        direction: 'new-receivers',
      },
    ]);
  });

  it('finds an endpoint moved, or given other messages', () => {
    expect(routesOf({ ...base, rpc: { status: defineRpc(other, created, reply) } })).toEqual([
      { route: 'rpc', name: 'status', change: 'rpc-moved', direction: undefined },
    ]);
    expect(routesOf({ ...base, rpc: { status: defineRpc(queue, cancelled, reply) } })).toEqual([
      { route: 'rpc', name: 'status', change: 'rpc-messages-changed', direction: 'old-receivers' },
    ]);
  });

  it("makes a route change the report's verdict", () => {
    const report = compareContracts(defineContract(base), defineContract({ ...base, rpc: {} }));
    expect(report.verdict).toBe('breaking');
  });
});

describe('the report for CI', () => {
  const breaking = compareSchemas(z.object({ a: z.string() }), z.object({ a: z.number() }));
  const unknown = compareSchemas(
    z.string(),
    z.string().refine((text) => text !== ''),
  );
  const compatible = compareSchemas(z.string(), z.string());

  it('is plain data: it survives JSON', () => {
    expect(JSON.parse(JSON.stringify(breaking))).toEqual(breaking);
  });

  it('fails on a breaking change, and on an unknown one unless allowed', () => {
    expect(compatibilityExitCode(breaking)).toBe(1);
    expect(compatibilityExitCode(breaking, { allowUnknown: true })).toBe(1);
    expect(compatibilityExitCode(unknown)).toBe(1);
    expect(compatibilityExitCode(unknown, { allowUnknown: true })).toBe(0);
    expect(compatibilityExitCode(compatible)).toBe(0);
  });

  it('writes each message, its findings with path and receivers, and a summary', () => {
    const text = formatCompatibilityReport(breaking);
    expect(text).toContain('Contract compatibility: BREAKING');
    expect(text).toContain('BREAKING m (changed)');
    expect(text).toContain(
      '$.a: old receivers accept string; new messages may hold number [type; breaks old receivers]',
    );
    expect(text).toContain(
      '$.a: new receivers accept number; old messages may hold string [type; breaks new receivers]',
    );
    expect(text).toContain(
      'Messages: 1 breaking, 0 unknown, 0 compatible. Routes: none removed or moved.',
    );
    expect(formatCompatibilityReport(unknown)).toContain('[unsupported; may break new receivers]');
  });
});

describe('warren check', () => {
  const fixture = (name: string) =>
    fileURLToPath(new URL(`fixtures/compatibility/${name}.ts`, import.meta.url));

  async function run(
    ...argv: string[]
  ): Promise<{ status: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const status = await runCli(['check', ...argv], {
      out: (text) => {
        stdout += text;
      },
      err: (text) => {
        stderr += text;
      },
      cwd: process.cwd(),
    });
    return { status, stdout, stderr };
  }

  it('passes a compatible change (the contract found among the exports)', async () => {
    const result = await run(fixture('v1'), fixture('v2-compatible'));
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Contract compatibility: ok');
  });

  it('fails a breaking change, naming the export, and prints JSON with --json', async () => {
    const result = await run(fixture('v1'), fixture('v2-breaking'), 'shop', '--json');
    expect(result.status).toBe(1);
    const report = JSON.parse(result.stdout) as CompatibilityReport;
    expect(report.verdict).toBe('breaking');
    expect(report.routes.map((route) => route.change)).toEqual(['publisher-moved']);
    expect(
      report.messages[0]?.findings.map((finding) => [finding.path, finding.direction]),
    ).toEqual([
      ['$.note', 'new-receivers'],
      ['$.currency', 'new-receivers'],
    ]);
  });

  it('fails an unknown change unless --allow-unknown', async () => {
    expect((await run(fixture('v1'), fixture('v2-unknown'))).status).toBe(1);
    expect((await run(fixture('v1'), fixture('v2-unknown'), '--allow-unknown')).status).toBe(0);
  });

  it('says why it cannot go on: several contracts, a missing export, a bad option', async () => {
    const several = await run(fixture('v1'), fixture('v2-breaking'));
    expect(several).toMatchObject({ status: 2, stdout: '' });
    expect(several.stderr).toContain('exports several contracts (shop, audit)');
    const missing = await run(fixture('v1'), fixture('v1'), 'nothing');
    expect(missing).toMatchObject({ status: 1, stdout: '' });
    expect(missing.stderr).toContain("has no export named 'nothing'");
    const bad = await run(fixture('v1'), fixture('v1'), '--strict');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('usage: warren check');
    expect((await run(fixture('v1'))).status).toBe(2);
  });

  it('prints its usage for --help', async () => {
    const result = await run('--help');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('--allow-unknown');
  });

  it('loads a default export and says which export it used', async () => {
    const loaded = await loadContract(fixture('v2-compatible'), undefined, process.cwd());
    expect(loaded.exportName).toBe('default');
    expect(loaded.contract.messages.map((message) => message.name)).toEqual(['order.created']);
  });
});

describe('the promise: what is called compatible parses', () => {
  it('for random schema pairs, values one side sends parse at the other when the check says compatible', () => {
    const proven: Record<CompatibilityDirection, number> = {
      'old-receivers': 0,
      'new-receivers': 0,
    };
    const cases = shapeOf(2)
      .chain((shape) =>
        fc.tuple(
          fc.constant(shape),
          fc.integer({ min: 0, max: 3 }).chain((edits) => editOf(shape, edits)),
        ),
      )
      .chain(([previous, next]) =>
        fc.tuple(
          fc.constant(previous),
          fc.constant(next),
          fc.array(valuesOf(previous), { minLength: 1, maxLength: 6 }),
          fc.array(valuesOf(next), { minLength: 1, maxLength: 6 }),
        ),
      );
    fc.assert(
      fc.property(cases, ([previous, next, oldMessages, newMessages]) => {
        const before = toZod(previous);
        const after = toZod(next);
        // The generator's own promise: its values match their schema.
        for (const value of oldMessages) expect(before.safeParse(value).success).toBe(true);
        for (const value of newMessages) expect(after.safeParse(value).success).toBe(true);
        const report = compareSchemas(before, after);
        const readings: [CompatibilityDirection, unknown[], z.ZodType][] = [
          ['old-receivers', newMessages, before],
          ['new-receivers', oldMessages, after],
        ];
        for (const [direction, messages, receiver] of readings) {
          if (verdictOf(report, direction) !== 'compatible') continue;
          proven[direction]++;
          for (const message of messages) {
            // As it travels: JSON out, JSON in.
            const received = JSON.parse(JSON.stringify(message)) as unknown;
            expect(
              receiver.safeParse(received).success,
              JSON.stringify({ direction, message }),
            ).toBe(true);
          }
        }
      }),
      { numRuns: 400 },
    );
    // The property said something: many directions were proven compatible.
    expect(proven['old-receivers']).toBeGreaterThan(40);
    expect(proven['new-receivers']).toBeGreaterThan(40);
  });
});
