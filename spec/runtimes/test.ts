/**
 * Runs the unit and integration suites (less the bench's smoke test) under Node 22 and Node 24
 * (`npm run test:runtimes`);
 * `npm test` covers the Node that runs it (20 in CI), faults included. Each run is vitest under
 * that binary, so its workers are too, with the suites' own broker setup (a broker each).
 *
 * The two runs go side by side: each spends most of its time waiting on its broker, and one
 * after the other they take about a third longer. Each run's output is printed whole when it
 * ends. `-- --serial` runs them one after the other, output live.
 *
 * `-- 24` runs one version; further arguments go to vitest in place of the two projects, e.g.
 * `npm run test:runtimes -- 24 spec/integration/tls.spec.ts`.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { installRuntimes, node22, node24, type Runtime, versionOf } from './runtimes.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const VITEST = path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');

const argv = process.argv.slice(2);
const serial = argv.includes('--serial');
const [first, ...rest] = argv.filter((arg) => arg !== '--serial');
const versions = [node22, node24];
const picked = versions.find((runtime) => runtime.name === `Node ${first}`);
const runtimes: Runtime[] = picked === undefined ? versions : [picked];
const args = picked === undefined ? [first, ...rest].filter((arg) => arg !== undefined) : rest;
const vitestArgs = [
  'run',
  ...(args.length > 0
    ? args
    : // The bench smoke test checks the benchmark's harness, which runs its workers under the
      // Node that `npm test` uses; the two runs side by side would also share its build folder.
      [
        '--project',
        'unit',
        '--project',
        'integration',
        '--exclude',
        'spec/integration/bench-smoke.spec.ts',
      ]),
];

/** Runs vitest under `runtime`; resolves with whether it passed. */
async function suite(runtime: Runtime, live: boolean): Promise<boolean> {
  const began = performance.now();
  const title = `${runtime.name} (${versionOf(runtime)}): vitest ${vitestArgs.join(' ')}`;
  if (live) process.stdout.write(`\n--- ${title}\n`);
  const [command, commandArgs] = runtime.command(VITEST, vitestArgs);
  const child = spawn(command, commandArgs, {
    cwd: ROOT,
    stdio: live ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  });
  const output: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk));
  const status = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (!live) process.stdout.write(`\n--- ${title}\n${Buffer.concat(output).toString('utf8')}`);
  const seconds = ((performance.now() - began) / 1000).toFixed(0);
  const ok = status === 0;
  process.stdout.write(`--- ${runtime.name}: ${ok ? 'passed' : 'FAILED'} in ${seconds} s\n`);
  return ok;
}

installRuntimes();
const results: boolean[] = [];
if (serial || runtimes.length === 1) {
  for (const runtime of runtimes) results.push(await suite(runtime, true));
} else {
  process.stdout.write(`running under ${runtimes.map((runtime) => runtime.name).join(' and ')}…\n`);
  results.push(...(await Promise.all(runtimes.map((runtime) => suite(runtime, false)))));
}
const failed = runtimes.filter((_, index) => results[index] !== true);
if (failed.length > 0) {
  process.stderr.write(`the suites failed under ${failed.map((r) => r.name).join(', ')}\n`);
  process.exit(1);
}
