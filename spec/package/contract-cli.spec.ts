/**
 * The `warren` command as built (dist/bin.js), run as a user runs it: on a
 * plain .mjs module built against dist/index.js, and on the fixture contract
 * module (spec/fixtures/shop-contract.ts, loaded through tsx's loader, so
 * that its output can be compared with the sources'), with each way to name the
 * contract, each output, and each mistake's message and exit code. Needs
 * `npm run build` first; run it with `npx vitest run --project package`.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { asyncApiJson, asyncApiYaml } from '../../lib/contract/index.js';
import { shop } from '../fixtures/shop-contract.js';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'dist', 'bin.js');
const fixture = join(root, 'spec', 'fixtures', 'shop-contract.ts');
/** tsx's loader, by absolute URL: the command may run in a folder that cannot resolve it. */
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
let scratch: string;

// Each run starts node with tsx's loader: a second or more, several under load. The
// timeouts catch hangs; they assert no speed.
vi.setConfig({ testTimeout: 240_000 });

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node dist/bin.js …args` in `cwd`; resolves to its exit code and output. */
function warren(args: readonly string[], cwd = root): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', tsx, bin, ...args],
      { cwd, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Writes a module into the scratch folder; returns its path. */
async function module(name: string, text: string): Promise<string> {
  const path = join(scratch, name);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
  return path;
}

const fixtureUrl = pathToFileURL(fixture).href;

beforeAll(async () => {
  if (!existsSync(bin))
    throw new Error('dist/bin.js is missing: run `npm run build` before this test');
  scratch = await mkdtemp(join(tmpdir(), 'warren-cli-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('warren asyncapi', () => {
  it('writes the JSON document of the named contract to standard output', async () => {
    const run = await warren(['asyncapi', 'spec/fixtures/shop-contract.ts', 'shop']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(asyncApiJson(shop));
    // What JSON Schema cannot express is said on standard error, not in the document's stream.
    expect(run.stderr).toContain(
      "warning: message 'order.due' /properties/at: Date cannot be represented in JSON Schema",
    );
  });

  it('writes YAML with --yaml, or to a .yaml file with --out, with the servers asked for', async () => {
    const servers = [
      '--server',
      'amqps://app:s3cret@broker.example.com/shop',
      '--server',
      'local=amqp://localhost',
    ];
    const yaml = await warren(['asyncapi', fixture, 'shop', '--yaml', ...servers]);
    expect(yaml.code, yaml.stderr).toBe(0);
    const options = {
      servers: { default: 'amqps://broker.example.com/shop', local: 'amqp://localhost' },
    };
    expect(yaml.stdout).toBe(asyncApiYaml(shop, options));
    expect(yaml.stdout).not.toContain('s3cret');
    const out = join(scratch, 'shop.yaml');
    const file = await warren(
      ['asyncapi', fixture, 'shop', '--out', out, '--vhost', 'eu'],
      scratch,
    );
    expect(file.code, file.stderr).toBe(0);
    expect(file.stdout).toBe('');
    expect(parseYaml(await readFile(out, 'utf8'))).toEqual(
      JSON.parse(asyncApiJson(shop, { vhost: 'eu' })),
    );
    const json = await warren(['asyncapi', fixture, 'shop', '-o', 'shop.json'], scratch);
    expect(json.code, json.stderr).toBe(0);
    expect(await readFile(join(scratch, 'shop.json'), 'utf8')).toBe(asyncApiJson(shop));
  });

  it('takes the only contract a module exports, or else its default export', async () => {
    const only = await module(
      'only.mjs',
      `export { shop } from '${fixtureUrl}';\nexport const other = 1;\n`,
    );
    const first = await warren(['asyncapi', only]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe(asyncApiJson(shop));
    await module('default.mjs', `export { shop as default, empty } from '${fixtureUrl}';\n`);
    const second = await warren(['asyncapi', 'default.mjs'], scratch);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toBe(asyncApiJson(shop));
  });

  it('loads a plain JavaScript module built against the package, without a loader', async () => {
    const zod = pathToFileURL(createRequire(import.meta.url).resolve('zod')).href;
    const warrenUrl = pathToFileURL(join(root, 'dist', 'index.js')).href;
    const path = await module(
      'built.mjs',
      [
        `import { z } from '${zod}';`,
        `import { defineConsumer, defineContract, defineMessage, definePublisher, defineQueue } from '${warrenUrl}';`,
        "const jobs = defineQueue('jobs');",
        "const job = defineMessage('job', z.object({ id: z.int() }));",
        'export default defineContract({',
        "  info: { title: 'Jobs' },",
        '  queues: { jobs },',
        '  publishers: { submit: definePublisher(jobs, job) },',
        '  consumers: { work: defineConsumer(jobs, job) },',
        '});',
        '',
      ].join('\n'),
    );
    const run = await new Promise<Run>((resolve) => {
      execFile(
        process.execPath,
        [bin, 'asyncapi', path],
        { encoding: 'utf8' },
        (error, stdout, stderr) =>
          resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }),
      );
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    const document = JSON.parse(run.stdout);
    expect(document.info.title).toBe('Jobs');
    expect(document.operations).toMatchObject({
      submit: { action: 'send', channel: { $ref: '#/channels/jobs' } },
      work: { action: 'receive', channel: { $ref: '#/channels/jobs' } },
    });
    expect(document.components.messages.job.payload).toMatchObject({ required: ['id'] });
  });

  it('loads a package by its name, resolved from the working directory', async () => {
    await module(
      'node_modules/shop-contract/package.json',
      JSON.stringify({ name: 'shop-contract', main: 'index.mjs' }),
    );
    await module('node_modules/shop-contract/index.mjs', `export { shop } from '${fixtureUrl}';\n`);
    const run = await warren(['asyncapi', 'shop-contract'], scratch);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(asyncApiJson(shop));
  });

  it('fails (exit 1) with a clear message when there is no such module or contract', async () => {
    const thrower = await module('throws.mjs', "throw new Error('the module broke');\n");
    const none = await module('none.mjs', 'export const answer = 42;\n');
    const cases: [string[], RegExp][] = [
      [
        ['asyncapi', './missing.mjs'],
        /cannot load \.\/missing\.mjs: no such file \(.*missing\.mjs\)/,
      ],
      [
        ['asyncapi', 'no-such-package'],
        /cannot find no-such-package: neither a file nor a package/,
      ],
      [['asyncapi', thrower], /cannot load .*throws\.mjs: the module broke/],
      [['asyncapi', none], /none\.mjs exports no contract/],
      [['asyncapi', none, 'answer'], /the export 'answer' of .* is not a contract/],
      [['asyncapi', fixture, 'nope'], /has no export named 'nope' \(its contracts: empty, shop\)/],
    ];
    const runs = await Promise.all(cases.map(([args]) => warren(args, scratch)));
    for (const [index, [args, message]] of cases.entries()) {
      const run = runs[index] as Run;
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(1);
      expect(run.stderr).toMatch(message);
      expect(run.stdout).toBe('');
    }
  });

  it('stops at a usage mistake (exit 2) with the usage line', async () => {
    const cases: [string[], RegExp][] = [
      [[], /^usage: warren <command>/],
      [['frob'], /unknown command 'frob'/],
      [['asyncapi'], /asyncapi needs at least 1 argument/],
      [['asyncapi', fixture, 'shop', 'extra'], /too many arguments: extra/],
      [['asyncapi', fixture, '--bogus'], /Unknown option '--bogus'/],
      [['asyncapi', fixture, 'shop', '--json', '--yaml'], /--json and --yaml: choose one/],
      [
        ['asyncapi', fixture, 'shop', '--server', 'http://example.com'],
        /must be an amqp:\/\/ or amqps:\/\/ URL/,
      ],
      [
        ['asyncapi', fixture, 'shop', '--server', 'a=amqp://x', '--server', 'a=amqp://y'],
        /two --server options are named 'a'/,
      ],
      [['asyncapi', fixture], /exports several contracts \(empty, shop\): name the one to use/],
    ];
    const runs = await Promise.all(cases.map(([args]) => warren(args)));
    for (const [index, [args, message]] of cases.entries()) {
      const run = runs[index] as Run;
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toContain('usage: warren');
      expect(run.stdout).toBe('');
    }
  });

  it('explains itself with --help (exit 0)', async () => {
    const overview = await warren(['--help']);
    expect(overview.code).toBe(0);
    expect(overview.stdout).toMatch(/asyncapi {2}Writes the AsyncAPI 3\.0 document/);
    const help = await warren(['asyncapi', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: warren asyncapi <module> \[exportName\]/);
    expect(help.stdout).toContain('--out, -o file');
  });
});
