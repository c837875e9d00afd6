/**
 * Runs the unit and integration suites under Node 22 and Node 24 (`npm run test:runtimes`);
 * `npm test` covers the Node that runs it (20 in CI), faults included. Each run is vitest under
 * that binary, so its workers are too, with the suites' own broker setup.
 *
 * `npm run test:runtimes -- 24` runs one version; further arguments go to vitest in place of the
 * two projects, e.g. `npm run test:runtimes -- 24 spec/integration/tls.spec.ts`.
 *
 * @module
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { installRuntimes, node22, node24, type Runtime, versionOf } from './runtimes.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const VITEST = path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');

const [first, ...rest] = process.argv.slice(2);
const versions = [node22, node24];
const picked = versions.find((runtime) => runtime.name === `Node ${first}`);
const runtimes: Runtime[] = picked === undefined ? versions : [picked];
const args = picked === undefined ? process.argv.slice(2) : rest;
const vitestArgs = [
  'run',
  ...(args.length > 0 ? args : ['--project', 'unit', '--project', 'integration']),
];

installRuntimes();
const failed: string[] = [];
for (const runtime of runtimes) {
  const began = performance.now();
  process.stdout.write(
    `\n--- ${runtime.name} (${versionOf(runtime)}): vitest ${vitestArgs.join(' ')}\n`,
  );
  const [command, commandArgs] = runtime.command(VITEST, vitestArgs);
  const result = spawnSync(command, commandArgs, { cwd: ROOT, stdio: 'inherit' });
  const seconds = ((performance.now() - began) / 1000).toFixed(0);
  const ok = result.status === 0;
  process.stdout.write(`--- ${runtime.name}: ${ok ? 'passed' : 'FAILED'} in ${seconds} s\n`);
  if (!ok) failed.push(runtime.name);
}
if (failed.length > 0) {
  process.stderr.write(`the suites failed under ${failed.join(', ')}\n`);
  process.exit(1);
}
