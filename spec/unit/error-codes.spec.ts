/**
 * docs/errors.md against the code: every `code` an error class of warren or warren/testing can
 * carry (read from the types,
 * with the TypeScript compiler) is documented with that class, and nothing is documented that
 * the types do not allow. The reply code table matches the generated `ReplyCode`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { HARD_ERROR_CODES, ReplyCode } from '../../lib/protocol/spec.js';

const root = join(import.meta.dirname, '..', '..');
const docs = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');

/** How the docs write the template literal type `REPLY_${number}`. */
const UNKNOWN_REPLY = 'REPLY_<n>';
const replyNames = Object.keys(ReplyCode);

/** The rows of the first table after `heading`, each a list of its cells. */
function tableAfter(heading: string): string[][] {
  const lines = docs.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`docs/errors.md has no heading '${heading}'`);
  let i = start + 1;
  while (i < lines.length && !lines[i]?.startsWith('|')) i++;
  const rows: string[][] = [];
  for (; lines[i]?.startsWith('|'); i++) {
    rows.push(
      (lines[i] as string)
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
  }
  // Header and the line under it.
  return rows.slice(2);
}

/** The names in backticks in a cell: `` `A`, `B` `` → ['A', 'B']. */
const quoted = (cell: string | undefined): string[] =>
  [...(cell ?? '').matchAll(/`([^`]+)`/g)].map((match) => match[1] as string);

/** Whether `type` is the template literal `REPLY_${number}`. */
function isUnknownReplyCode(type: ts.Type): boolean {
  if (!(type.flags & ts.TypeFlags.TemplateLiteral)) return false;
  const { texts, types } = type as ts.TemplateLiteralType;
  const ofNumber = types.length === 1 && ((types[0] as ts.Type).flags & ts.TypeFlags.Number) !== 0;
  return ofNumber && texts.join() === 'REPLY_,';
}

/** The modules that export public error classes: warren's, and warren/testing's own. */
const ERROR_MODULES = [join(root, 'lib', 'errors.ts'), join(root, 'lib', 'testing', 'errors.ts')];

/** Each public error class (by name) → the codes its `code` property can hold. */
function codesByClass(): Map<string, Set<string>> {
  const program = ts.createProgram(ERROR_MODULES, {
    strict: true,
    exactOptionalPropertyTypes: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: ['node'],
    noEmit: true,
    // lib/testing imports the package by name, as tsconfig.json maps it.
    paths: { warren: [join(root, 'lib', 'index.ts')] },
  });
  const checker = program.getTypeChecker();
  const classes = new Map<string, Set<string>>();
  for (const file of ERROR_MODULES) {
    const source = program.getSourceFile(file);
    const module = source === undefined ? undefined : checker.getSymbolAtLocation(source);
    if (module === undefined) throw new Error(`${file} did not load`);
    for (const exported of checker.getExportsOfModule(module)) {
      const symbol =
        exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      if (!(symbol.flags & ts.SymbolFlags.Class)) continue;
      const code = checker.getDeclaredTypeOfSymbol(symbol).getProperty('code');
      if (code === undefined) throw new Error(`${symbol.name} has no code`);
      const type = checker.getTypeOfSymbol(code);
      const codes = new Set<string>();
      for (const member of type.isUnion() ? type.types : [type]) {
        if (member.isStringLiteral()) codes.add(member.value);
        else if (isUnknownReplyCode(member)) codes.add(UNKNOWN_REPLY);
        else
          throw new Error(`${symbol.name}: unexpected code type ${checker.typeToString(member)}`);
      }
      classes.set(exported.name, codes);
    }
  }
  return classes;
}

describe('docs/errors.md and the error codes', () => {
  let classes: Map<string, Set<string>>;
  beforeAll(() => {
    classes = codesByClass();
  }, 60_000);

  const carriers = (code: string): string[] =>
    [...classes].filter(([, codes]) => codes.has(code)).map(([name]) => name);

  it('reads the code unions of every public error class', () => {
    expect([...classes.keys()].sort()).toEqual([
      'AbortError',
      'AmqpError',
      'ChannelError',
      'ClosedError',
      'ConnectionError',
      'DisconnectedError',
      'MessageReturnedError',
      'MessageTooLargeError',
      'MessageValidationError',
      'ProtocolError',
      'PublishNackedError',
      'PublishUnconfirmedError',
      'RabbitmqctlError',
      'RemoteError',
      'TestBrokerError',
      'TimeoutError',
      'UnknownMessageTypeError',
    ]);
    expect(classes.get('TimeoutError')).toEqual(new Set(['TIMEOUT']));
    // AmqpError's union is every other class's.
    const all = classes.get('AmqpError') as Set<string>;
    for (const [name, codes] of classes) {
      for (const code of codes) expect(all.has(code), `${name}: ${code}`).toBe(true);
    }
  });

  it("documents each of warren's own codes with every class that carries it, and no other", () => {
    const rows = tableAfter("### warren's codes");
    const documented = rows.map((row) => quoted(row[0])[0] as string);
    const own = [...(classes.get('AmqpError') as Set<string>)].filter(
      (code) => !replyNames.includes(code),
    );
    expect([...documented].sort()).toEqual(own.sort());
    for (const row of rows) {
      const code = quoted(row[0])[0] as string;
      // The abstract ClosedError is documented through its two subclasses; AmqpError carries all.
      const expected = carriers(code).filter(
        (name) => name !== 'ClosedError' && name !== 'AmqpError',
      );
      const listed = quoted(row[1]);
      expect(listed.filter((name) => name !== 'AmqpError').sort(), code).toEqual(expected.sort());
      // A code no subclass carries is raised as a plain AmqpError, and says so.
      if (expected.length === 0) expect(listed, code).toEqual(['AmqpError']);
    }
  });

  it('documents every reply code with its number and its class in the spec', () => {
    const rows = tableAfter('### Reply codes');
    expect(rows.map((row) => quoted(row[0])[0]).sort()).toEqual([...replyNames].sort());
    for (const row of rows) {
      const name = quoted(row[0])[0] as keyof typeof ReplyCode;
      expect(Number(row[1]), name).toBe(ReplyCode[name]);
      expect(row[2], name).toBe(
        HARD_ERROR_CODES.has(ReplyCode[name]) ? 'hard-error' : 'soft-error',
      );
    }
  });

  it('names the classes that carry reply codes before the reply code table', () => {
    const section = docs.slice(docs.indexOf('### Reply codes'));
    const paragraph = section.slice(0, section.indexOf('\n|'));
    const named = quoted(paragraph).filter((word) => word.endsWith('Error'));
    const everyName = (name: string): boolean =>
      replyNames.every((code) => classes.get(name)?.has(code));
    const expected = [...classes.keys()].filter(
      (name) => everyName(name) && name !== 'ClosedError' && name !== 'AmqpError',
    );
    // ProtocolError carries four of them, documented in its own table.
    expect(named.sort()).toEqual([...expected, 'ProtocolError'].sort());
  });

  it("documents exactly the ProtocolError's codes in its table", () => {
    const rows = tableAfter('## Protocol errors');
    const documented = rows.map((row) => quoted(row[0])[0]);
    expect(documented.sort()).toEqual([...(classes.get('ProtocolError') as Set<string>)].sort());
    for (const row of rows) {
      const name = quoted(row[0])[0] as keyof typeof ReplyCode;
      expect(Number(row[1]), name).toBe(ReplyCode[name]);
    }
  });
});
