/**
 * Checks warren as its users get it, from the packed tarball (`npm run test:package`, after
 * `npm run build`):
 *
 * 1. `npm pack` into a temporary folder; publint and Are the Types Wrong lint the tarball;
 * 2. a fresh project installs it, with zod, as `npm install warren zod` would;
 * 3. there, `import` (ESM) and `require` (CommonJS) give the same exports, under every runtime,
 *    and TypeScript checks a consumer with moduleResolution node16 and with bundler;
 * 4. the smoke run (consumer/smoke.mjs) talks to a broker under Node 20, 22 and 24, Bun and
 *    Deno: typed messages with confirms, a consumer, an RPC call and an 8 MiB body.
 *
 * The broker is the tests' (findOrStartBroker: AMQP_URL, else localhost:5672, else a throwaway
 * node). `-- --keep` keeps the temporary folder and says where it is.
 *
 * @module
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  bun,
  currentNode,
  deno,
  installRuntimes,
  node22,
  node24,
  type Runtime,
  versionOf,
} from '../runtimes/runtimes.js';
import { findOrStartBroker } from '../support/broker.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const BIN = path.join(ROOT, 'node_modules', '.bin');
const RUNTIMES: readonly Runtime[] = [currentNode, node22, node24, bun, deno];

/** Runs a command, its output shown; throws when it fails. */
function run(command: string, args: readonly string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, stdio: 'inherit' });
  if (result.error !== undefined) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${path.basename(command)} ${args.join(' ')} exited with ${result.status}`);
  }
}

/** Runs a command and returns its standard output; throws when it fails. */
function output(command: string, args: readonly string[], cwd: string): string {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} exited with ${result.status}`);
  return result.stdout;
}

const timings: [string, number][] = [];

/** Runs one step, printing its name and how long it took. */
async function step(name: string, body: () => void | Promise<void>): Promise<void> {
  process.stdout.write(`\n--- ${name}\n`);
  const began = performance.now();
  await body();
  const seconds = (performance.now() - began) / 1000;
  timings.push([name, seconds]);
  process.stdout.write(`--- ${name}: ok (${seconds.toFixed(1)} s)\n`);
}

/** The newest modification time under `dir`, in ms. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile())
      latest = Math.max(latest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

/** The version of a dev dependency as installed here, so the project installs the same one. */
function installedVersion(name: string): string {
  const manifest = path.join(ROOT, 'node_modules', name, 'package.json');
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

const built = path.join(ROOT, 'dist', 'index.js');
if (!existsSync(built) || statSync(built).mtimeMs < newest(path.join(ROOT, 'lib'))) {
  process.stderr.write('dist/ is missing or older than lib/: run `npm run build` first\n');
  process.exit(1);
}

const keep = process.argv.includes('--keep');
const work = mkdtempSync(path.join(os.tmpdir(), 'warren-package-'));
const project = path.join(work, 'project');
let tarball = '';

try {
  await step('npm pack', () => {
    const packed = JSON.parse(
      output('npm', ['pack', '--json', '--pack-destination', work], ROOT),
    ) as {
      filename: string;
      files: { path: string }[];
    }[];
    const [info] = packed;
    if (info === undefined) throw new Error('npm pack said nothing');
    tarball = path.join(work, info.filename);
    console.log(`  ${info.filename}: ${info.files.map((file) => file.path).join(', ')}`);
  });

  await step('publint', () => run(path.join(BIN, 'publint'), ['run', '--strict', tarball], ROOT));

  await step('attw (Are the Types Wrong)', () =>
    run(path.join(BIN, 'attw'), ['--no-definitely-typed', tarball], ROOT),
  );

  await step('install the tarball into a fresh project', () => {
    cpSync(path.join(HERE, 'consumer'), project, { recursive: true });
    writeFileSync(
      path.join(project, 'package.json'),
      `${JSON.stringify({ name: 'warren-consumer', private: true, type: 'module' }, null, 2)}\n`,
    );
    run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        tarball,
        `zod@${installedVersion('zod')}`,
        `@types/node@${installedVersion('@types/node')}`,
      ],
      project,
    );
  });

  installRuntimes();
  for (const runtime of RUNTIMES) {
    await step(`import and require under ${runtime.name} (${versionOf(runtime)})`, () => {
      const [command, args] = runtime.command('exports.mjs');
      run(command, args, project);
    });
  }

  for (const resolution of ['node16', 'bundler']) {
    await step(`tsc, moduleResolution ${resolution}`, () =>
      run(path.join(BIN, 'tsc'), ['-p', `tsconfig.${resolution}.json`], project),
    );
  }

  const lease = await findOrStartBroker();
  console.log(`\n  broker: ${lease.description}`);
  try {
    for (const runtime of RUNTIMES) {
      await step(`smoke run under ${runtime.name}`, () => {
        const [command, args] = runtime.command('smoke.mjs', [lease.url]);
        run(command, args, project);
      });
    }
  } finally {
    await lease.release();
  }
} finally {
  if (keep) console.log(`\nkept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

console.log('\nthe package checks passed:');
for (const [name, seconds] of timings)
  console.log(`  ${seconds.toFixed(1).padStart(6)} s  ${name}`);
