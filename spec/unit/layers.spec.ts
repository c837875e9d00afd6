/**
 * DESIGN.md's layers, checked on the source: lib/protocol imports nothing
 * above it, lib/engine nothing above lib/protocol, and the capabilities in
 * lib/<capability>/ only what lib/index.ts exports (as a user of the
 * package could), from the entities' modules, never lib/index.ts itself (it
 * re-exports them: a cycle) nor lib/engine or lib/protocol. A capability
 * published as a subpath of its own (lib/testing: `warren/testing`) imports
 * the package by its name, `warren`, and nothing of lib/ outside its folder.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const LIB = resolve(dirname(fileURLToPath(import.meta.url)), '../../lib');

/** The folders of lib/ that are layers of the client itself, not capabilities above it. */
const CLIENT_LAYERS = new Set(['protocol', 'engine']);
/** The capabilities published as a subpath of the package (`warren/testing`), not by lib/index.ts. */
const SUBPATH_CAPABILITIES = new Set(['testing', 'otel']);

interface Import {
  /** The imported file, relative to lib/ (`protocol/spec.ts`), or the bare specifier. */
  readonly target: string;
  /** The names imported; `*` for a namespace or side-effect import. */
  readonly names: readonly string[];
}

function sourceFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((entry) => {
    const path = join(folder, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(file: string): Import[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const found: Import[] = [];
  for (const statement of source.statements) {
    const isImport = ts.isImportDeclaration(statement);
    if (!isImport && !ts.isExportDeclaration(statement)) continue;
    const specifier = statement.moduleSpecifier;
    if (specifier === undefined || !ts.isStringLiteral(specifier)) continue;
    const target = specifier.text.startsWith('.')
      ? relative(LIB, resolve(dirname(file), specifier.text)).replace(/\.js$/, '.ts')
      : specifier.text;
    found.push({ target, names: importedNames(statement) });
  }
  return found;
}

function importedNames(statement: ts.ImportDeclaration | ts.ExportDeclaration): string[] {
  if (ts.isExportDeclaration(statement)) {
    const clause = statement.exportClause;
    if (clause === undefined || !ts.isNamedExports(clause)) return ['*'];
    return clause.elements.map((element) => (element.propertyName ?? element.name).text);
  }
  const clause = statement.importClause;
  if (clause === undefined) return ['*'];
  const names: string[] = [];
  if (clause.name !== undefined) names.push('default');
  const bindings = clause.namedBindings;
  if (bindings !== undefined) {
    if (ts.isNamespaceImport(bindings)) names.push('*');
    else
      for (const element of bindings.elements) {
        names.push((element.propertyName ?? element.name).text);
      }
  }
  return names;
}

/** What lib/index.ts exports, by name: the public API (made once: a type-checker is slow). */
function publicNames(): Set<string> {
  exportedNames ??= readPublicNames();
  return exportedNames;
}
let exportedNames: Set<string> | undefined;

function readPublicNames(): Set<string> {
  const index = join(LIB, 'index.ts');
  const program = ts.createProgram([index], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(index) as ts.SourceFile);
  if (module === undefined) throw new Error('lib/index.ts has no module symbol');
  return new Set(checker.getExportsOfModule(module).map((symbol) => symbol.name));
}

const layerOf = (target: string): string | undefined => {
  if (!target.includes('/') && target.endsWith('.ts')) return 'entities';
  const folder = target.split('/')[0];
  return folder !== undefined && target.endsWith('.ts') ? folder : undefined;
};

// Building the type-checker's program takes seconds, more on a loaded machine.
describe('the layers of DESIGN.md', { timeout: 60_000 }, () => {
  it('lib/protocol imports only lib/protocol and Node built-ins', () => {
    for (const file of sourceFiles(join(LIB, 'protocol'))) {
      for (const { target } of importsOf(file)) {
        if (!target.endsWith('.ts')) continue;
        expect(layerOf(target), `${relative(LIB, file)} imports ${target}`).toBe('protocol');
      }
    }
  });

  it('lib/engine imports only lib/engine and lib/protocol', () => {
    for (const file of sourceFiles(join(LIB, 'engine'))) {
      for (const { target } of importsOf(file)) {
        if (!target.endsWith('.ts')) continue;
        expect(['engine', 'protocol'], `${relative(LIB, file)} imports ${target}`).toContain(
          layerOf(target),
        );
      }
    }
  });

  it('each capability in lib/<capability>/ imports only what lib/index.ts exports', () => {
    const exported = publicNames();
    const capabilities = readdirSync(LIB).filter(
      (entry) => statSync(join(LIB, entry)).isDirectory() && !CLIENT_LAYERS.has(entry),
    );
    for (const capability of capabilities) {
      for (const file of sourceFiles(join(LIB, capability))) {
        const from = relative(LIB, file);
        for (const { target, names } of importsOf(file)) {
          if (!target.endsWith('.ts') || target.startsWith(`${capability}/`)) continue;
          expect(target, `${from} imports lib/index.ts (a cycle)`).not.toBe('index.ts');
          // The public API as the entities present it (lib/errors.ts, lib/fields.ts gather
          // what the lower layers define), not the engine's or the codec's modules.
          expect(['engine', 'protocol'], `${from} imports ${target}`).not.toContain(
            layerOf(target),
          );
          for (const name of names) {
            expect(exported.has(name), `${from} imports ${name} from ${target}`).toBe(true);
          }
        }
      }
    }
  });

  it('a capability on a subpath of its own imports warren by name, others never do', () => {
    // warren/testing is built apart (tsup entry `testing`) and loads the package's main entry
    // at run time: a relative import out of its folder would bundle a second copy of warren.
    for (const capability of SUBPATH_CAPABILITIES) {
      const files = sourceFiles(join(LIB, capability));
      const imports = files.flatMap((file) =>
        importsOf(file).map((found) => ({ ...found, from: relative(LIB, file) })),
      );
      for (const { target, from } of imports) {
        if (!target.endsWith('.ts')) continue;
        expect(target.startsWith(`${capability}/`), `${from} imports ${target}`).toBe(true);
      }
      expect(imports.some(({ target }) => target === 'warren')).toBe(true);
    }
    // A capability that lib/index.ts re-exports would import itself through `warren`.
    const capabilities = readdirSync(LIB).filter(
      (entry) =>
        statSync(join(LIB, entry)).isDirectory() &&
        !CLIENT_LAYERS.has(entry) &&
        !SUBPATH_CAPABILITIES.has(entry),
    );
    for (const capability of capabilities) {
      for (const file of sourceFiles(join(LIB, capability))) {
        const targets = importsOf(file).map(({ target }) => target);
        expect(targets, relative(LIB, file)).not.toContain('warren');
      }
    }
  });

  it('the check sees what it checks: the public API, and imports of every kind', () => {
    const exported = publicNames();
    for (const name of ['connect', 'Queue', 'MessageValidationError', 'FieldTable']) {
      expect(exported.has(name)).toBe(true);
    }
    expect(exported.has('describe')).toBe(false);
    const channel = importsOf(join(LIB, 'channel.ts'));
    expect(channel.some(({ target }) => target.startsWith('engine/'))).toBe(true);
    expect(channel.flatMap(({ names }) => names)).toContain('EventEmitter');
  });
});
