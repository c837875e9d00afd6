/**
 * Loads a contract from a built module, for the `warren` command: a path
 * (resolved against the working directory) or a package specifier, and
 * the export that holds the contract.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CommandLineError } from './command-line-error.js';
import type { Contract } from './contract.js';
import { isContract } from './contract.js';

/** A contract found in a module, and the name of the export that holds it. */
export interface LoadedContract {
  /** The contract. */
  readonly contract: Contract;
  /** The export it was found under (`default` for a default export). */
  readonly exportName: string;
}

/**
 * Imports `specifier` (a file path, or a package specifier resolved from
 * `cwd`) and takes its contract: the export named `exportName`, or else
 * the only contract it exports, or else its default export.
 * @throws CommandLineError when the module cannot be loaded or holds no such contract
 */
export async function loadContract(
  specifier: string,
  exportName: string | undefined,
  cwd: string,
): Promise<LoadedContract> {
  const url = moduleUrl(specifier, cwd);
  if (url.startsWith('file:') && !existsSync(fileURLToPath(url))) {
    throw new CommandLineError(`cannot load ${specifier}: no such file (${fileURLToPath(url)})`, 1);
  }
  let module: Record<string, unknown>;
  try {
    module = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new CommandLineError(`cannot load ${specifier}: ${why}`, 1, { cause: error });
  }
  const exports = exportsOf(module);
  if (exportName !== undefined) {
    if (!(exportName in exports)) {
      throw new CommandLineError(
        `${specifier} has no export named '${exportName}'${listContracts(exports)}`,
        1,
      );
    }
    if (!isContract(exports[exportName])) {
      throw new CommandLineError(
        `the export '${exportName}' of ${specifier} is not a contract (made by defineContract)${listContracts(exports)}`,
        1,
      );
    }
    return { contract: exports[exportName], exportName };
  }
  const found = contractsOf(exports);
  if (found.length === 1) return found[0] as LoadedContract;
  if (found.length === 0) {
    throw new CommandLineError(`${specifier} exports no contract (made by defineContract)`, 1);
  }
  const byDefault = found.find((entry) => entry.exportName === 'default');
  if (byDefault !== undefined) return byDefault;
  throw new CommandLineError(
    `${specifier} exports several contracts (${found.map(({ exportName: name }) => name).join(', ')}): name the one to use`,
    2,
  );
}

/**
 * The URL to import: a file URL for a path (anything that starts with `.`
 * or `/`, is absolute, or names an existing file), else the file a
 * package specifier resolves to from `cwd`.
 */
function moduleUrl(specifier: string, cwd: string): string {
  if (specifier.startsWith('file:')) return specifier;
  const path = resolve(cwd, specifier);
  if (specifier.startsWith('.') || isAbsolute(specifier) || existsSync(path)) {
    return pathToFileURL(path).href;
  }
  try {
    // Resolved as `require` would: the package's "exports" need a "require" or "default" entry.
    return pathToFileURL(createRequire(join(cwd, 'package.json')).resolve(specifier)).href;
  } catch (error) {
    throw new CommandLineError(
      `cannot find ${specifier}: neither a file nor a package installed here`,
      1,
      { cause: error },
    );
  }
}

/**
 * The module's exports; for a CommonJS module whose named exports Node
 * could not find, those of its `module.exports` object.
 */
function exportsOf(module: Record<string, unknown>): Record<string, unknown> {
  const fallback = module.default;
  if (
    contractsOf(module).length === 0 &&
    typeof fallback === 'object' &&
    fallback !== null &&
    !isContract(fallback)
  ) {
    return { ...(fallback as Record<string, unknown>), default: fallback };
  }
  return module;
}

/** Each contract exported, once (a default export that is also a named one counts once). */
function contractsOf(exports: Record<string, unknown>): LoadedContract[] {
  const seen = new Map<Contract, string>();
  const names = Object.keys(exports).sort((a, b) =>
    a === 'default' ? 1 : b === 'default' ? -1 : 0,
  );
  for (const name of names) {
    const value = exports[name];
    if (isContract(value) && !seen.has(value)) seen.set(value, name);
  }
  return [...seen].map(([contract, exportName]) => ({ contract, exportName }));
}

function listContracts(exports: Record<string, unknown>): string {
  const names = contractsOf(exports).map(({ exportName }) => exportName);
  return names.length === 0 ? '' : ` (its contracts: ${names.join(', ')})`;
}
