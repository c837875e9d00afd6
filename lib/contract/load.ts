/**
 * Loading a contract for the `warren` command line: import a built module
 * (a path, or a package name resolved from the working directory), and
 * pick its {@link Contract} export. Shared by `warren check` and `warren
 * asyncapi`.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Contract } from './contract.js';
import { isContract } from './is-contract.js';

/** A contract loaded from a module, and where it came from. */
export interface LoadedContract {
  readonly contract: Contract;
  /** The export it was read from (`default` for a default export). */
  readonly exportName: string;
  /** The module's URL, as imported. */
  readonly url: string;
}

/**
 * Imports the module `specifier` (a file path relative to `cwd`, or a
 * package name) and returns its contract: the export `exportName`, or the
 * one export that is a contract.
 * @throws TypeError when the module has no such export, none, or several contracts
 */
export async function loadContract(
  specifier: string,
  exportName?: string,
  cwd: string = process.cwd(),
): Promise<LoadedContract> {
  const url = moduleUrl(specifier, cwd);
  const namespace = (await import(url)) as Record<string, unknown>;
  const exports = exportsOf(namespace);
  if (exportName !== undefined) {
    const value = exports.get(exportName);
    if (!isContract(value)) {
      throw new TypeError(
        `${specifier} has no contract export named '${exportName}' (${describeExports(exports)})`,
      );
    }
    return { contract: value, exportName, url };
  }
  const contracts = [...exports].filter(([, value]) => isContract(value));
  const distinct = new Set(contracts.map(([, value]) => value));
  if (distinct.size === 0) {
    throw new TypeError(
      `${specifier} exports no contract (defineContract); ${describeExports(exports)}`,
    );
  }
  if (distinct.size > 1) {
    const names = contracts.map(([name]) => `'${name}'`).join(', ');
    throw new TypeError(`${specifier} exports several contracts (${names}): name the one to use`);
  }
  const [name, value] =
    contracts.find(([key]) => key !== 'default') ?? (contracts[0] as [string, unknown]);
  return { contract: value as Contract, exportName: name, url };
}

/** The URL to import: a file (a path, relative to `cwd`) or else a package, from `cwd`. */
function moduleUrl(specifier: string, cwd: string): string {
  if (specifier === '') throw new TypeError('the module to load is empty');
  const path = resolve(cwd, specifier);
  if (isAbsolute(specifier) || specifier.startsWith('.') || existsSync(path)) {
    return pathToFileURL(path).href;
  }
  // A package: resolved as the project in `cwd` would resolve it, not as warren would.
  const require = createRequire(join(cwd, 'package.json'));
  return pathToFileURL(require.resolve(specifier)).href;
}

/** A module's exports by name; a CommonJS module's `module.exports` object is looked into too. */
function exportsOf(namespace: Record<string, unknown>): Map<string, unknown> {
  const exports = new Map<string, unknown>(Object.entries(namespace));
  const fallback = namespace.default;
  if (typeof fallback === 'object' && fallback !== null && !isContract(fallback)) {
    for (const [name, value] of Object.entries(fallback)) {
      if (!exports.has(name)) exports.set(name, value);
    }
  }
  return exports;
}

function describeExports(exports: ReadonlyMap<string, unknown>): string {
  const names = [...exports.keys()];
  return names.length === 0 ? 'it has no exports' : `its exports: ${names.join(', ')}`;
}
