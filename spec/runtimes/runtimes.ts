/**
 * The runtimes CI checks warren on besides the Node that runs it: Node 22 and 24, Bun and Deno.
 * They come from the npm registry as packages that carry the binary (spec/runtimes/package.json
 * pins them), installed apart from the project's dependencies into spec/runtimes/node_modules,
 * where {@link installRuntimes} puts them on first use. Linux x64 (glibc) only.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MODULES = path.join(HERE, 'node_modules');

/** A runtime: how to run a script under it. */
export interface Runtime {
  /** `Node 22`, `Bun`, … */
  readonly name: string;
  /** The binary. */
  readonly binary: string;
  /** The command line that runs `script` with `args`. */
  command(script: string, args?: readonly string[]): [string, string[]];
}

function node(major: number, binary: string): Runtime {
  return {
    name: `Node ${major}`,
    binary,
    command: (script, args = []) => [binary, [script, ...args]],
  };
}

/** The Node that runs this process (Node 20 in CI). */
export const currentNode: Runtime = node(
  Number(process.versions.node.split('.')[0]),
  process.execPath,
);

export const node22 = node(22, path.join(MODULES, 'node22', 'bin', 'node'));
export const node24 = node(24, path.join(MODULES, 'node24', 'bin', 'node'));

const bunBinary = path.join(MODULES, 'bun', 'bin', 'bun');
export const bun: Runtime = {
  name: 'Bun',
  binary: bunBinary,
  command: (script, args = []) => [bunBinary, ['run', script, ...args]],
};

/**
 * Deno, with only the permission a warren client needs: the network. Nothing else (no files,
 * no environment, no subprocesses): a run that needs more fails, which is the point.
 */
const denoBinary = path.join(MODULES, 'deno', 'deno');
export const deno: Runtime = {
  name: 'Deno',
  binary: denoBinary,
  command: (script, args = []) => [denoBinary, ['run', '--allow-net', script, ...args]],
};

/** Every runtime installed here, newest Node last. */
export const installedRuntimes: readonly Runtime[] = [node22, node24, bun, deno];

/**
 * Installs the runtimes (`npm ci` in spec/runtimes, about 500 MB unpacked) unless they all are
 * there already. Bin links are left out: both Node packages would claim `node`.
 */
export function installRuntimes(): void {
  if (installedRuntimes.every((runtime) => existsSync(runtime.binary))) return;
  process.stderr.write('[warren] installing the runtimes of spec/runtimes/package.json\n');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--no-bin-links'], {
    cwd: HERE,
    stdio: 'inherit',
  });
}

/** `v22.23.5`, `1.4.5`, `deno 2.9.6`: what the binary says it is, its build left out. */
export function versionOf(runtime: Runtime): string {
  const output = execFileSync(runtime.binary, ['--version'], { encoding: 'utf8' });
  return (output.split('\n')[0] ?? '').replace(/\s*\(.*\)$/, '').trim();
}
