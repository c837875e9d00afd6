/**
 * The benchmark cannot rot: `bench/run.ts --smoke` runs every client through every scenario
 * with tiny counts (2,000 / 500 / 2,000 / 500 retried messages, 50 round trips, 3 × 1 MiB)
 * against the test broker, each run in a fresh worker process and checked against what the
 * broker holds. It must exit 0 and report every client × scenario as measured or n/a ("not
 * measured" by that client), and warren measured in every one.
 * `--baseline HEAD` (warren compiled from the last commit, beside today's) runs one scenario
 * twice, and its comparison must hold the ratios. The memory check
 * (bench/memory.ts) runs too, with 2,000 messages, the topology check (bench/topology.ts)
 * with 50 queues on a node of its own, and the many-connections check (bench/connections.ts)
 * with 4 connections × 3 channels, and the CPU breakdown (bench/breakdown.ts) profiles warren
 * in two scenarios. No timing or memory figure is asserted: the figures of a
 * smoke run mean nothing.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { SCENARIOS } from '../../bench/worker.js';

const url = inject('amqpUrl');
const ROOT = path.resolve(import.meta.dirname, '../..');
/** Every adapter of bench/clients/: a missing one fails here. */
const CLIENTS = ['warren', 'amqplib', 'cloudamqp', 'rabbitmq-client', 'reference'];

interface SmokeReport {
  failures: number;
  scenarios: { name: string; cells: { client: string; status: string; reason?: string }[] }[];
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'warren-bench-smoke-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function runNode(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/**
 * Runs bench/`script` (with `--expose-gc` when `gc`) writing its report to the test folder,
 * expects it to exit 0, and returns the report: benchmarks-<name>.md.
 */
async function benchReport(script: string, args: readonly string[], gc: boolean): Promise<string> {
  const node = gc ? ['--expose-gc'] : [];
  const run = [...node, '--import', 'tsx', `bench/${script}`, ...args, '--out', dir];
  const { code, output } = await runNode(run);
  expect(code, output).toBe(0);
  return readFile(path.join(dir, `benchmarks-${script.replace(/\.ts$/, '')}.md`), 'utf8');
}

it('runs every client through every scenario and reports each as measured or n/a', async () => {
  const json = path.join(dir, 'results.json');
  const { code, output } = await runNode([
    '--import',
    'tsx',
    'bench/run.ts',
    '--smoke',
    '--rounds',
    '1',
    '--url',
    url,
    '--out',
    dir,
    '--json',
    json,
  ]);
  expect(code, output).toBe(0);

  const report = JSON.parse(await readFile(json, 'utf8')) as SmokeReport;
  expect(report.failures).toBe(0);
  expect(report.scenarios.map((scenario) => scenario.name)).toEqual([...SCENARIOS]);
  for (const scenario of report.scenarios) {
    expect(scenario.cells.map((cell) => cell.client)).toEqual(CLIENTS);
    for (const cell of scenario.cells) {
      expect(['measured', 'n/a'], `${cell.client} ${scenario.name}: ${cell.reason}`).toContain(
        cell.status,
      );
    }
    // warren does every scenario, the retry path included.
    const warren = scenario.cells.find((cell) => cell.client === 'warren');
    expect(warren?.status, `warren ${scenario.name}: ${warren?.reason}`).toBe('measured');
  }

  const markdown = await readFile(path.join(dir, 'benchmarks.md'), 'utf8');
  expect(markdown).toContain('](benchmarks.svg)');
  for (const name of SCENARIOS) expect(markdown).toContain(`### ${name}:`);
  const svg = await readFile(path.join(dir, 'benchmarks.svg'), 'utf8');
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
}, 120_000);

it('runs warren beside a --baseline build of itself and divides one by the other', async () => {
  const json = path.join(dir, 'baseline.json');
  const out = path.join(dir, 'baseline');
  const { code, output } = await runNode([
    '--import',
    'tsx',
    'bench/run.ts',
    '--smoke',
    '--rounds',
    '2',
    '--clients',
    'warren',
    '--baseline',
    'HEAD',
    '--scenarios',
    'publish',
    '--url',
    url,
    '--out',
    out,
    '--json',
    json,
  ]);
  expect(code, output).toBe(0);

  const report = JSON.parse(await readFile(json, 'utf8')) as SmokeReport & {
    baseline: { short: string };
  };
  const baseline = `warren@${report.baseline.short}`;
  expect(report.failures).toBe(0);
  for (const scenario of report.scenarios) {
    expect(scenario.cells.map((cell) => [cell.client, cell.status])).toEqual([
      ['warren', 'measured'],
      [baseline, 'measured'],
    ]);
  }
  const markdown = await readFile(path.join(out, 'benchmarks.md'), 'utf8');
  expect(markdown).toContain(`## warren ÷ ${baseline}`);
  // msg/s and client CPU: a median ratio, and the two rounds' range unless they agree
  expect(markdown).toMatch(/\| publish +(\| +[\d.]+×( \([\d.]+–[\d.]+\))? +){2}\|/);
}, 120_000);

it('runs the memory check and reports the heap at every checkpoint', async () => {
  const markdown = await benchReport('memory.ts', ['--count', '2000', '--url', url], true);
  // Before the first message, after the first 1%, then every tenth: 12 checkpoints.
  const rows = markdown.split('\n').filter((line) => /^\|\s*[\d,]+\s*\|\s*[\d.]+\s*\|/.test(line));
  expect(rows.map((row) => row.split('|')[1]?.trim())).toEqual([
    '0',
    '20',
    ...Array.from({ length: 10 }, (_, i) => ((i + 1) * 200).toLocaleString('en-US')),
  ]);
  expect(markdown).toMatch(/\| memory: the heap after 2,000 consumed messages within 10% /);
}, 120_000);

it('runs the topology check: both kinds of queues recovered, each consumed', async () => {
  const args = ['--queues', '50', '--channels', '5'];
  const markdown = await benchReport('topology.ts', args, true);
  const rows = markdown.split('\n').filter((line) => line.includes('50 queues, 50 consumed'));
  expect(rows.map((row) => row.split('|')[1]?.trim())).toEqual([
    'exclusive',
    'outlive the connection',
  ]);
}, 120_000);

it('runs the many-connections check, profiled: every message back through both shapes', async () => {
  const args = ['--connections', '4', '--channels', '3', '--messages', '20', '--rounds', '1'];
  const markdown = await benchReport('connections.ts', [...args, '--cpu-prof', '--url', url], true);
  expect(markdown).toMatch(/\| 1 connection × 1 channel +\| +[\d.]+ µs \|/);
  expect(markdown).toMatch(/\| 4 connections × 3 channels +\| +[\d.]+ µs \|/);
  // --cpu-prof: a row per part, a figure for each shape
  expect(markdown).toMatch(/\| socket write +\| +[\d.]+ \| +[\d.]+ \|/);
}, 120_000);

it('runs the CPU breakdown: each scenario profiled and its samples sorted into parts', async () => {
  const args = ['--smoke', '--rounds', '1', '--scenarios', 'publishConfirm,consume'];
  const markdown = await benchReport('breakdown.ts', [...args, '--url', url], false);
  const sections = markdown.split('\n### ').slice(1);
  expect(sections.map((section) => section.split(' ')[0])).toEqual(['publish', 'consume']);
  for (const section of sections) {
    // Every part has its row; a smoke run's few samples may leave some at 0, not all.
    const figures = [...section.matchAll(/^\| [a-z][^|]+\| +([\d.]+) \| +\d+% \|$/gm)];
    expect(figures).toHaveLength(11);
    expect(figures.some((figure) => Number(figure[1]) > 0)).toBe(true);
  }
}, 120_000);
