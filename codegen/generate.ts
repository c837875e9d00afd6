/**
 * Writes lib/protocol/spec.ts from the AMQP 0-9-1 definition beside this file
 * (RabbitMQ's JSON, with its extensions). Run it with `npm run codegen`;
 * spec/unit/codegen.spec.ts fails when the committed file differs from what
 * this produces.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface SpecArgument {
  name: string;
  type?: string;
  domain?: string;
}
interface SpecMethod {
  name: string;
  id: number;
  synchronous?: boolean;
  content?: boolean;
  arguments: SpecArgument[];
}
interface SpecClass {
  name: string;
  id: number;
  methods: SpecMethod[];
  properties?: { name: string; type: string }[];
}
export interface AmqpSpec {
  copyright: string[];
  constants: { name: string; value: number; class?: string }[];
  domains: [string, string][];
  classes: SpecClass[];
}

const here = dirname(fileURLToPath(import.meta.url));
export const specJsonPath = join(here, 'amqp-rabbitmq-0.9.1.json');
export const specTsPath = join(here, '..', 'lib', 'protocol', 'spec.ts');

/** What each basic property means to RabbitMQ and to applications, for the generated TSDoc. */
const propertyDocs: Record<string, string> = {
  contentType: 'MIME type of the body, such as `application/json`.',
  contentEncoding: 'Encoding applied to the body, such as `gzip`.',
  headers: 'Application headers; the headers exchange routes on these.',
  deliveryMode: '1 for transient, 2 for persistent (written to disk by durable queues).',
  priority: 'Priority from 0 to 255; queues declared with `x-max-priority` honour it.',
  correlationId: 'Ties a reply to its request.',
  replyTo: 'Where the receiver should send a reply: a queue name or `amq.rabbitmq.reply-to`.',
  expiration: 'Per-message TTL in milliseconds, as a decimal string such as `"60000"`.',
  messageId: 'An application-chosen identifier for the message.',
  timestamp: 'When the message was made; whole seconds on the wire.',
  type: 'An application-chosen name for the kind of message.',
  userId:
    "The publishing user; RabbitMQ refuses a message whose user-id is not the connection's user.",
  appId: 'The publishing application.',
  clusterId: 'Deprecated by AMQP 0-9-1; carried as given.',
};

/** Arguments the protocol reserves: written as zero, skipped when read, absent from the types. */
const RESERVED = new Set(['ticket']);

const tsTypes: Record<string, string> = {
  bit: 'boolean',
  octet: 'number',
  short: 'number',
  long: 'number',
  longlong: 'number',
  shortstr: 'string',
  longstr: 'Buffer',
  table: 'FieldTable',
  timestamp: 'Date',
};

const camel = (name: string): string =>
  name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const pascal = (name: string): string => {
  const c = camel(name);
  return c.charAt(0).toUpperCase() + c.slice(1);
};
/** A local variable for a field; `arguments` cannot be one in strict mode. */
const local = (f: Field): string => (f.prop === 'arguments' ? 'table' : f.prop);
const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

interface Field {
  name: string;
  prop: string;
  type: string;
}

/** Produces the text of lib/protocol/spec.ts. */
export function generateSpec(spec: AmqpSpec): string {
  const domains = new Map(spec.domains);
  const typeOf = (arg: SpecArgument): string => {
    const type = arg.type ?? domains.get(arg.domain ?? '');
    if (type === undefined || !(type in tsTypes)) throw new Error(`unknown type for ${arg.name}`);
    return type;
  };
  const methods = spec.classes.flatMap((cls) =>
    cls.methods.map((m) => ({
      cls,
      m,
      full: `${cls.name}.${m.name}`,
      type: pascal(`${cls.name}-${m.name}`),
      id: (cls.id << 16) | m.id,
      fields: m.arguments.map(
        (a): Field => ({ name: a.name, prop: camel(a.name), type: typeOf(a) }),
      ),
    })),
  );

  const out: string[] = [];
  const emit = (...lines: string[]): void => {
    out.push(...lines);
  };

  emit(
    '// GENERATED FILE: do not edit. Made by codegen/generate.ts from',
    '// codegen/amqp-rabbitmq-0.9.1.json; run `npm run codegen` after changing either.',
    '//',
    '// The AMQP 0-9-1 definition it is made from carries this notice:',
    '//',
    ...spec.copyright
      .join('')
      .trimEnd()
      .split('\n')
      .map((line) => `// ${line}`.trimEnd()),
    '',
    "import { ProtocolError } from './errors.js';",
    "import { readTable, writeTable } from './field-table.js';",
    "import type { FieldTable } from './field-types.js';",
    "import type { ByteReader } from './reader.js';",
    "import type { ByteWriter } from './writer.js';",
    '',
  );

  // Constants and reply codes.
  const frameConstants = spec.constants.filter((c) => c.class === undefined);
  for (const c of frameConstants) emit(`export const ${c.name.replace(/-/g, '_')} = ${c.value};`);
  emit(
    '',
    '/** AMQP reply codes by name, as RabbitMQ sends them in connection.close and channel.close. */',
  );
  emit('export const ReplyCode = {');
  for (const c of spec.constants.filter((c) => c.class !== undefined)) {
    const closes =
      c.class === 'hard-error'
        ? 'hard error: closes the connection'
        : 'soft error: closes the channel';
    emit(`  /** ${c.value}, a ${closes}. */`);
    emit(`  ${c.name.replace(/-/g, '_')}: ${c.value},`);
  }
  emit('} as const;', '');
  emit(
    '/** The name of an AMQP reply code, such as `NOT_FOUND` (404): the `code` of an error the broker reported. */',
    'export type ReplyCodeName = keyof typeof ReplyCode;',
    '',
  );
  emit(
    '/** Reply codes of the `hard-error` class: the broker closes the whole connection with these. */',
  );
  emit('export const HARD_ERROR_CODES: ReadonlySet<number> = new Set([');
  emit(
    `  ${spec.constants
      .filter((c) => c.class === 'hard-error')
      .map((c) => c.value)
      .join(', ')},`,
  );
  emit(']);', '');

  // Argument interfaces.
  for (const x of methods) {
    const visible = x.fields.filter((f) => !RESERVED.has(f.name));
    emit(`/** Arguments of \`${x.full}\`. */`);
    if (visible.length === 0) {
      emit(`export type ${x.type}Args = Record<string, never>;`, '');
      continue;
    }
    emit(`export interface ${x.type}Args {`);
    for (const f of visible) emit(`  ${f.prop}: ${tsTypes[f.type]};`);
    emit('}', '');
  }

  emit('/** The argument type of every method, keyed by `class.method`. */');
  emit('export interface MethodArgsMap extends Record<MethodName, unknown> {');
  for (const x of methods) emit(`  '${x.full}': ${x.type}Args;`);
  emit('}', '');
  emit('/** A method name such as `basic.publish`. */');
  emit('export type MethodName =');
  methods.forEach((x, i) => {
    emit(`  | '${x.full}'${i === methods.length - 1 ? ';' : ''}`);
  });
  emit('');
  emit("/** The exact arguments of one method: `MethodArgs<'basic.publish'>`. */");
  emit('export type MethodArgs<N extends MethodName> = MethodArgsMap[N];', '');
  emit('/** A decoded method, discriminated by `name`. */');
  emit(
    'export type Method = { [N in MethodName]: { name: N; args: MethodArgsMap[N] } }[MethodName];',
    '',
  );

  // Method table.
  emit('/** What the protocol says of a method. */');
  emit('export interface MethodInfo {');
  emit('  /** Class id in the high 16 bits, method id in the low 16, as on the wire. */');
  emit('  readonly id: number;');
  emit('  /** A request the peer must answer with one of `replies`. */');
  emit('  readonly synchronous: boolean;');
  emit('  /** Followed by a content header and body frames. */');
  emit('  readonly content: boolean;');
  emit('  readonly replies: readonly MethodName[];');
  emit('}', '');
  emit('export const methodInfo: { readonly [N in MethodName]: MethodInfo } = {');
  for (const x of methods) {
    const replies = x.m.synchronous
      ? x.cls.methods
          .filter(
            (r) =>
              r.name === `${x.m.name}-ok` || (x.full === 'basic.get' && r.name === 'get-empty'),
          )
          .map((r) => `'${x.cls.name}.${r.name}'`)
      : [];
    emit(
      `  '${x.full}': { id: ${hex(x.id)}, synchronous: ${x.m.synchronous === true}, content: ${x.m.content === true}, replies: [${replies.join(', ')}] },`,
    );
  }
  emit('};', '');

  // Encoders.
  for (const x of methods) {
    const visible = x.fields.some((f) => !RESERVED.has(f.name));
    emit(
      `export function encode${x.type}(w: ByteWriter, ${visible ? 'a' : '_a'}: ${x.type}Args): void {`,
    );
    emit(`  w.long(${hex(x.id)}, '${x.full}');`);
    emitFieldWrites(emit, x.full, x.fields, 'a.');
    emit('}', '');
  }
  emit('/** The encoder of every method, keyed by name. */');
  emit(
    'export const methodEncoders: { readonly [N in MethodName]: (w: ByteWriter, args: MethodArgsMap[N]) => void } = {',
  );
  for (const x of methods) emit(`  '${x.full}': encode${x.type},`);
  emit('};', '');

  // Decoders.
  for (const x of methods) {
    const visible = x.fields.filter((f) => !RESERVED.has(f.name));
    emit(
      `function decode${x.type}(${x.fields.length > 0 ? 'r' : '_r'}: ByteReader): ${x.type}Args {`,
    );
    emitFieldReads(emit, x.fields);
    const entries = visible.map((f) => (local(f) === f.prop ? f.prop : `${f.prop}: ${local(f)}`));
    emit(`  return { ${entries.join(', ')} };`);
    emit('}', '');
  }
  emit('/** Decodes a method payload (class id, method id, arguments). */');
  emit('export function decodeMethod(r: ByteReader): Method {');
  emit('  const id = r.long();');
  emit('  switch (id) {');
  for (const x of methods) {
    emit(`    case ${hex(x.id)}:`);
    emit(`      return { name: '${x.full}', args: decode${x.type}(r) };`);
  }
  emit('    default:');
  emit(
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a template literal in the generated code
    "      throw new ProtocolError('NOT_IMPLEMENTED', `unknown method ${id >>> 16}.${id & 0xffff}`);",
  );
  emit('  }');
  emit('}', '');

  // Content header properties of the basic class.
  const basic = spec.classes.find((c) => c.name === 'basic');
  const props = (basic?.properties ?? []).map(
    (p): Field => ({ name: p.name, prop: camel(p.name), type: p.type }),
  );
  if (props.length > 15) throw new Error('more properties than one flags word holds');
  emit('/** The 14 properties of a basic-class message, camelCase; each is optional. */');
  emit('export interface BasicProperties {');
  for (const p of props) {
    const doc = propertyDocs[p.prop];
    if (doc === undefined) throw new Error(`no documentation for property ${p.prop}`);
    emit(`  /** ${doc} */`, `  ${p.prop}?: ${tsTypes[p.type]} | undefined;`);
  }
  emit('}', '');
  emit('/** Writes the property flags and the properties that are set. */');
  emit('export function encodeBasicProperties(w: ByteWriter, p: BasicProperties): void {');
  emit(
    '  // Each property is read once: objects of many shapes come here, and a read from an object',
    '  // of a shape the function has not seen before is slow.',
  );
  emit(`  const { ${props.map((p) => p.prop).join(', ')} } = p;`);
  emit('  let flags = 0;');
  props.forEach((p, i) => {
    emit(`  if (${p.prop} !== undefined) flags |= ${hex(1 << (15 - i)).replace(/^0x0000/, '0x')};`);
  });
  emit("  w.short(flags, 'property flags');");
  for (const p of props) {
    emit(`  if (${p.prop} !== undefined) ${writeCall(p, p.prop, p.prop)};`);
  }
  emit('}', '');
  emit('/** Reads the property flags and the properties they announce. */');
  emit('export function decodeBasicProperties(r: ByteReader): BasicProperties {');
  const known = props.reduce((mask, _, i) => mask | (1 << (15 - i)), 0);
  emit('  const flags = r.short();');
  emit('  // Bit 0 announces another flags word; basic has no properties for one to flag.');
  emit(`  let next = flags & ${hex(~known & 0xffff).replace(/^0x0000/, '0x')};`);
  emit('  while (next !== 0) {');
  emit('    if ((next & 0xfffe) !== 0) {');
  emit(
    "      throw new ProtocolError('SYNTAX_ERROR', 'content header flags a property that basic does not have');",
  );
  emit('    }');
  emit('    next = r.short();');
  emit('  }');
  emit('  const p: BasicProperties = {};');
  props.forEach((p, i) => {
    emit(
      `  if ((flags & ${hex(1 << (15 - i)).replace(/^0x0000/, '0x')}) !== 0) p.${p.prop} = ${readCall(p.type)};`,
    );
  });
  emit('  return p;');
  emit('}');
  return `${out.join('\n')}\n`;
}

function writeCall(f: Field, value: string, what: string): string {
  switch (f.type) {
    case 'table':
      return `writeTable(w, ${value}, '${what}')`;
    case 'timestamp':
      return `w.timestamp(${value}, '${what}')`;
    default:
      return `w.${f.type}(${value}, '${what}')`;
  }
}

function readCall(type: string): string {
  return type === 'table' ? 'readTable(r)' : `r.${type}()`;
}

function emitFieldWrites(
  emit: (...lines: string[]) => void,
  method: string,
  fields: Field[],
  from: string,
): void {
  for (let i = 0; i < fields.length; ) {
    const f = fields[i] as Field;
    if (f.type === 'bit') {
      const bits: string[] = [];
      for (; i < fields.length && fields[i]?.type === 'bit' && bits.length < 8; i++) {
        bits.push(`(${from}${(fields[i] as Field).prop} ? ${1 << bits.length} : 0)`);
      }
      emit(`  w.octet(${bits.join(' | ')}, '${method} flags');`);
      continue;
    }
    i++;
    if (RESERVED.has(f.name)) {
      emit(`  w.${f.type}(0, '${method} ${f.prop}');`);
      continue;
    }
    emit(`  ${writeCall(f, `${from}${f.prop}`, `${method} ${f.prop}`)};`);
  }
}

/** How many `bit` fields follow one another from `from`. */
function countBits(fields: Field[], from: number): number {
  let n = 0;
  while (fields[from + n]?.type === 'bit') n++;
  return n;
}

/** The width of a reserved field, which is skipped rather than read. */
function reservedSize(f: Field): number {
  const sizes: Record<string, number> = { octet: 1, short: 2, long: 4, longlong: 8 };
  const size = sizes[f.type];
  if (size === undefined)
    throw new Error(`reserved field ${f.name} has unsupported type ${f.type}`);
  return size;
}

function emitFieldReads(emit: (...lines: string[]) => void, fields: Field[]): void {
  for (let i = 0; i < fields.length; ) {
    const f = fields[i] as Field;
    if (f.type === 'bit') {
      const count = Math.min(8, countBits(fields, i));
      emit(`  const bits${i} = r.octet();`);
      for (let bit = 0; bit < count; bit++) {
        emit(`  const ${local(fields[i + bit] as Field)} = (bits${i} & ${1 << bit}) !== 0;`);
      }
      i += count;
      continue;
    }
    i++;
    if (RESERVED.has(f.name)) {
      emit(`  r.skip(${reservedSize(f)});`);
      continue;
    }
    emit(`  const ${local(f)} = ${readCall(f.type)};`);
  }
}

function main(): void {
  const spec = JSON.parse(readFileSync(specJsonPath, 'utf8')) as AmqpSpec;
  writeFileSync(specTsPath, generateSpec(spec));
  console.log(`wrote ${specTsPath}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
