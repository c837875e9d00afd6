/**
 * The benchmark (`npm run bench`): every client of bench/clients/ against the same RabbitMQ, each
 * run in a fresh process (bench/worker.ts), the clients interleaved round by round. Writes
 * docs/benchmarks.md and docs/benchmarks.svg.
 *
 *     npm run bench                       # 5 rounds, full counts, writes docs/
 *     npm run bench -- --rounds 3
 *     npm run bench -- --smoke            # tiny counts, writes to a temporary folder
 *     npm run bench -- --url amqp://guest:guest@127.0.0.1:5672/ --clients warren,reference
 *     npm run bench -- --clients warren --baseline main   # did this change make warren slower?
 *
 * `--baseline <ref>` adds one more client, `warren@<short commit>`: the ref's own lib/ and
 * bench/clients/warren.ts, compiled like the others (bench/baseline.ts), run in the same rounds.
 * The report then has a section that divides warren by it, scenario by scenario, round by round
 * (the rounds are paired: both ran in the same round, one right after the other), also printed
 * on stdout; and it goes to a temporary folder unless --out says where, never to docs/.
 *
 * `--cpu-prof <dir>` has each measured run write a CPU profile of its window there, for
 * bench/breakdown.ts; its report never goes to docs/ either (the profiler costs CPU).
 *
 * The broker: `--url`, else the one findOrStartBroker() finds (AMQP_URL, else 127.0.0.1:5672,
 * else a throwaway node started here and stopped at the end). Every run gets a fresh queue,
 * declared and deleted here with warren; the queue of a consuming scenario (consume, retry,
 * typedConsume) is filled beforehand by a separate publisher process. After each run the harness checks what the broker holds (all
 * published messages queued, or all consumed ones gone); a mismatch, a crashed worker or a
 * client error fails the benchmark (exit code 1, and docs/ is left alone). A client that throws
 * a "not measured" error for a scenario is reported as n/a.
 *
 * Broker CPU is read from /proc/<pid>/stat (utime + stime) of the beam.smp process listening on
 * the broker's port, at the start and the end of the measured window; n/a for a remote broker.
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { type Channel, type Connection, connect } from '../lib/index.js';
import { redactUrl } from '../lib/options.js';
import { findOrStartBroker } from '../spec/support/broker.js';
import { type Baseline, BaselineError, buildBaseline, resolveBaseline } from './baseline.js';
import { BUILD_DIR, compile } from './build.js';
import {
  indexOf,
  LARGE_PUBLISH_WINDOW,
  orderIndex,
  RETRY_DELAY_MS,
  type ScenarioInput,
} from './client.js';
import { formatMarkdown, reportDate } from './markdown.js';
import {
  median,
  SCENARIOS,
  type Scenario,
  type WorkerFailure,
  type WorkerResult,
} from './worker.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// What is measured
// ---------------------------------------------------------------------------------------------

/** warren today; warren at the `--baseline` ref; the other clients; the reference client. */
type Role = 'subject' | 'baseline' | 'peer' | 'ceiling';

interface ClientInfo {
  /** File name under bench/clients/, without `.ts`; `warren@<short commit>` for the baseline. */
  readonly name: string;
  readonly label: string;
  readonly role: Role;
  /** npm package whose version is reported. */
  readonly pkg?: string;
  readonly color: string;
}

/** Every client the benchmark knows, in report order. */
export const CLIENTS: readonly ClientInfo[] = [
  { name: 'warren', label: 'warren', role: 'subject', color: '#e4572e' },
  { name: 'amqplib', label: 'amqplib', role: 'peer', pkg: 'amqplib', color: '#4c78a8' },
  {
    name: 'cloudamqp',
    label: '@cloudamqp/amqp-client',
    role: 'peer',
    pkg: '@cloudamqp/amqp-client',
    color: '#72b7b2',
  },
  {
    name: 'rabbitmq-client',
    label: 'rabbitmq-client',
    role: 'peer',
    pkg: 'rabbitmq-client',
    color: '#54a24b',
  },
  { name: 'reference', label: 'reference (ceiling)', role: 'ceiling', color: '#9d9d9d' },
];

/** The `--baseline` client: warren's colour, lighter. */
function baselineClient(baseline: Baseline): ClientInfo {
  const name = `warren@${baseline.short}`;
  return { name, label: name, role: 'baseline', color: '#f2a58e' };
}

interface ScenarioSpec {
  readonly name: Scenario;
  readonly title: string;
  readonly count: number;
  readonly size: number;
  readonly window: number;
  /**
   * The plain scenario this one adds a capability to: the report divides each client's figures
   * by its own there (retry beside consume), since no peer has the capability to compare with.
   */
  readonly beside?: Scenario;
}

/**
 * Scenarios that consume a queue the orchestrator fills beforehand, and the scenario that
 * fills it: `publish` by the `--prefill` client, `typedPublish` by warren (which has it).
 */
const PREFILL: Partial<Record<Scenario, 'publish' | 'typedPublish'>> = {
  consume: 'publish',
  retry: 'publish',
  typedConsume: 'typedPublish',
  contractConsume: 'typedPublish',
  tracedConsume: 'publish',
};

/** Scenarios that leave what they published in the queue, and how to read a body's index. */
const KEEPS: Partial<Record<Scenario, (body: Uint8Array, size: number) => number>> = {
  publish: indexOf,
  publishConfirm: indexOf,
  typedPublish: orderIndex,
  contractPublish: orderIndex,
  tracedPublish: indexOf,
};

/** The wait queue the retry scenario's policy declares (retry()'s naming). */
const waitQueueOf = (queue: string): string => `${queue}.retry.${RETRY_DELAY_MS}ms`;

function scenarioSpecs(smoke: boolean): ScenarioSpec[] {
  const n = (full: number, small: number): number => (smoke ? small : full);
  const specs: Omit<ScenarioSpec, 'title'>[] = [
    { name: 'publish', count: n(200_000, 2_000), size: 256, window: n(1_000, 100) },
    { name: 'publishConfirm', count: n(50_000, 500), size: 256, window: n(1_000, 100) },
    { name: 'consume', count: n(200_000, 2_000), size: 256, window: n(1_000, 100) },
    {
      name: 'typedPublish',
      count: n(50_000, 500),
      size: 256,
      window: n(1_000, 100),
      beside: 'publishConfirm',
    },
    {
      name: 'typedConsume',
      count: n(200_000, 2_000),
      size: 256,
      window: n(1_000, 100),
      beside: 'consume',
    },
    {
      name: 'contractPublish',
      count: n(50_000, 500),
      size: 256,
      window: n(1_000, 100),
      beside: 'typedPublish',
    },
    {
      name: 'contractConsume',
      count: n(200_000, 2_000),
      size: 256,
      window: n(1_000, 100),
      beside: 'typedConsume',
    },
    {
      name: 'tracedPublish',
      count: n(50_000, 500),
      size: 256,
      window: n(1_000, 100),
      beside: 'publishConfirm',
    },
    {
      name: 'tracedConsume',
      count: n(200_000, 2_000),
      size: 256,
      window: n(1_000, 100),
      beside: 'consume',
    },
    { name: 'retry', count: n(50_000, 500), size: 256, window: n(1_000, 100), beside: 'consume' },
    { name: 'rpc', count: n(2_000, 50), size: 256, window: 1 },
    { name: 'large', count: n(200, 3), size: n(8 * MiB, MiB), window: 10 },
  ];
  return specs.map((spec) => ({ ...spec, title: scenarioTitle(spec) }));
}

function scenarioTitle(spec: Omit<ScenarioSpec, 'title'>): string {
  const size = spec.size >= MiB ? `${spec.size / MiB} MiB` : `${spec.size} B`;
  const count = spec.count.toLocaleString('en-US');
  switch (spec.name) {
    case 'publish':
      return `publish ${count} × ${size}, no confirms`;
    case 'publishConfirm':
      return `publish ${count} × ${size} with confirms, at most ${spec.window.toLocaleString('en-US')} outstanding`;
    case 'consume':
      return `consume ${count} × ${size}, prefetch ${spec.window.toLocaleString('en-US')}, one ack per message`;
    case 'typedPublish':
      return `publish ${count} orders of ${size} with confirms through a zod schema, at most ${spec.window.toLocaleString('en-US')} outstanding`;
    case 'typedConsume':
      return `consume ${count} orders of ${size} checked by a zod schema, prefetch ${spec.window.toLocaleString('en-US')}, one ack per message`;
    case 'contractPublish':
      return `publish ${count} orders of ${size} with confirms through a contract's publisher, at most ${spec.window.toLocaleString('en-US')} outstanding`;
    case 'contractConsume':
      return `consume ${count} orders of ${size} through a contract's consumer, prefetch ${spec.window.toLocaleString('en-US')}, one ack per message`;
    case 'tracedPublish':
      return `publish ${count} × ${size} with confirms, traced by OpenTelemetry (exporting nowhere), at most ${spec.window.toLocaleString('en-US')} outstanding`;
    case 'tracedConsume':
      return `consume ${count} × ${size}, traced by OpenTelemetry (exporting nowhere), prefetch ${spec.window.toLocaleString('en-US')}, one ack per message`;
    case 'retry':
      return `consume ${count} × ${size}, prefetch ${spec.window.toLocaleString('en-US')}, each failing once and retried after ${RETRY_DELAY_MS} ms`;
    case 'rpc':
      return `${count} sequential request/reply round trips`;
    case 'large':
      return `${count} × ${size} published and consumed concurrently (prefetch ${spec.window})`;
  }
}

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

interface Options {
  readonly smoke: boolean;
  readonly rounds: number;
  readonly url: string | undefined;
  /** The clients to run, the baseline's among them (after warren). */
  readonly clients: readonly ClientInfo[];
  readonly baseline: Baseline | undefined;
  readonly scenarios: readonly ScenarioSpec[];
  /**
   * Folder for benchmarks.md and benchmarks.svg; undefined: docs/, or a temporary one for --smoke
   * and --baseline.
   */
  readonly out: string | undefined;
  readonly json: string | undefined;
  readonly prefill: string;
  readonly timeoutMs: number;
  /** Where each measured run writes a CPU profile of its window (bench/breakdown.ts reads them). */
  readonly cpuProf: string | undefined;
  /** The arguments as given, for the command to reproduce (the URL redacted). */
  readonly argv: readonly string[];
}

const USAGE = `usage: tsx bench/run.ts [options]   (npm run bench -- [options])
  --smoke              tiny counts; writes the report to a temporary folder, not docs/
  --rounds <n>         runs per client and scenario (default 5; 1 with --smoke)
  --url <amqp url>     the broker (default: AMQP_URL, else 127.0.0.1:5672, else a throwaway node)
  --clients <a,b>      clients to run (default: ${CLIENTS.map((c) => c.name).join(',')})
  --baseline <ref>     also run warren as it was at this git ref (its lib/ and bench/clients/warren.ts),
                       as client warren@<commit>, and report warren ÷ it per scenario and round;
                       the report goes to a temporary folder unless --out is given
  --scenarios <a,b>    scenarios to run (default: ${SCENARIOS.join(',')})
  --out <dir>          where benchmarks.md and benchmarks.svg go (default docs/)
  --json <file>        also write every run and summary as JSON
  --prefill <client>   who fills the consume queue (default warren)
  --timeout <s>        per run (default 900; 60 with --smoke)
  --cpu-prof <dir>     each measured run also writes a CPU profile of its window to
                       <dir>/<client>.<scenario>.r<round>.cpuprofile (the profiler adds CPU)`;

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      smoke: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      url: { type: 'string' },
      clients: { type: 'string' },
      baseline: { type: 'string' },
      scenarios: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'string' },
      prefill: { type: 'string', default: 'warren' },
      timeout: { type: 'string' },
      'cpu-prof': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const smoke = values.smoke ?? false;
  const rounds = Number(values.rounds ?? (smoke ? 1 : 5));
  if (!Number.isInteger(rounds) || rounds < 1) throw new UsageError(`--rounds ${values.rounds}`);
  const timeout = Number(values.timeout ?? (smoke ? 60 : 900));
  if (!(timeout > 0)) throw new UsageError(`--timeout ${values.timeout}`);
  const pick = <T extends { name: string }>(list: readonly T[], wanted: string | undefined) => {
    if (wanted === undefined) return [...list];
    return wanted.split(',').map((name) => {
      const found = list.find((item) => item.name === name.trim());
      if (found === undefined) {
        throw new UsageError(`unknown '${name}' (one of ${list.map((i) => i.name).join(', ')})`);
      }
      return found;
    });
  };
  const url = values.url ?? undefined;
  const clients = pick(CLIENTS, values.clients);
  let baseline: Baseline | undefined;
  if (values.baseline !== undefined) {
    try {
      baseline = resolveBaseline(values.baseline);
    } catch (error) {
      throw error instanceof BaselineError ? new UsageError(error.message) : error;
    }
    // Right after warren, where a reader compares them; first when warren is not run.
    const at = clients.findIndex((client) => client.role === 'subject') + 1;
    clients.splice(at, 0, baselineClient(baseline));
  }
  return {
    smoke,
    rounds,
    url,
    clients,
    baseline,
    scenarios: pick(scenarioSpecs(smoke), values.scenarios),
    out: values.out,
    json: values.json,
    prefill: values.prefill ?? 'warren',
    timeoutMs: timeout * 1000,
    cpuProf: values['cpu-prof'] === undefined ? undefined : path.resolve(values['cpu-prof']),
    argv: argv.map((arg) => (/^amqps?:\/\//.test(arg) ? redactUrl(arg) : arg)),
  };
}

class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------
// Broker CPU
// ---------------------------------------------------------------------------------------------

/** CPU time of the broker's Erlang VM, read from /proc. */
class BrokerCpu {
  private readonly tickUs: number;

  constructor(readonly pids: readonly number[]) {
    let ticks = 100;
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      // Linux's USER_HZ is 100 nearly everywhere
    }
    this.tickUs = 1_000_000 / ticks;
  }

  /** utime + stime of the broker's processes, µs; undefined once one of them is gone. */
  sampleUs(): number | undefined {
    let total = 0;
    for (const pid of this.pids) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        // "pid (comm) state ppid ...": utime and stime are fields 14 and 15.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        total += (Number(fields[11]) + Number(fields[12])) * this.tickUs;
      } catch {
        return undefined;
      }
    }
    return total;
  }

  /**
   * The beam.smp processes (`pgrep -f beam.smp`) that listen on the URL's port, when the URL is
   * local; otherwise why broker CPU cannot be measured.
   */
  static find(url: string): BrokerCpu | string {
    const parsed = new URL(url);
    const host = parsed.hostname.replace(/^\[|\]$/g, '');
    if (!['127.0.0.1', 'localhost', '::1', os.hostname()].includes(host)) {
      return `broker ${host} is remote`;
    }
    if (process.platform !== 'linux') return 'broker CPU is read from /proc (Linux only)';
    const port = Number(parsed.port || (parsed.protocol === 'amqps:' ? 5671 : 5672));
    const listening = listeningInodes(port);
    const pids = beamPids().filter((pid) => ownsSocket(pid, listening));
    if (pids.length === 0) return `no beam.smp process listening on port ${port} found`;
    return new BrokerCpu(pids);
  }
}

function beamPids(): number[] {
  try {
    return execFileSync('pgrep', ['-f', 'beam.smp'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map(Number);
  } catch {
    // no pgrep, or no match (exit 1): look in /proc
  }
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('beam.smp')) {
        pids.push(Number(entry));
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

/** Socket inodes listening on `port` (any address), from /proc/net/tcp and tcp6. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      const local = columns[1];
      if (local?.endsWith(`:${hexPort}`) && columns[3] === '0A' && columns[9] !== undefined) {
        inodes.add(columns[9]);
      }
    }
  }
  return inodes;
}

function ownsSocket(pid: number, inodes: ReadonlySet<string>): boolean {
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match?.[1] !== undefined && inodes.has(match[1])) return true;
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    // not ours to read
  }
  return false;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits (at most 5 s) until the broker is nearly idle: the previous run's cleanup is done. */
async function quiesce(broker: BrokerCpu | undefined): Promise<void> {
  if (broker === undefined) return sleep(200);
  const deadline = Date.now() + 5_000;
  for (;;) {
    const before = broker.sampleUs();
    await sleep(200);
    const after = broker.sampleUs();
    if (before === undefined || after === undefined) return;
    if (after - before <= 20_000 || Date.now() > deadline) return;
  }
}

// ---------------------------------------------------------------------------------------------
// Queues, through warren
// ---------------------------------------------------------------------------------------------

class Admin {
  private channel: Channel | undefined;

  private constructor(readonly connection: Connection) {}

  static async open(url: string): Promise<Admin> {
    return new Admin(await connect(url, { recovery: false }));
  }

  /** The admin channel; a new one when a failed command closed the last. */
  private async open(): Promise<Channel> {
    if (this.channel === undefined || !this.channel.isOpen) {
      this.channel = await this.connection.openChannel();
    }
    return this.channel;
  }

  async declare(name: string): Promise<void> {
    await (await this.open()).declareQueue(name, {
      durable: false,
      exclusive: false,
      autoDelete: false,
    });
  }

  async counts(name: string): Promise<{ messageCount: number; consumerCount: number }> {
    const queue = await (await this.open()).declareQueue(name, { passive: true });
    return queue.declared ?? { messageCount: Number.NaN, consumerCount: Number.NaN };
  }

  /** Takes one message (no ack); null when the queue is empty. */
  async takeOne(name: string): Promise<Buffer | null> {
    const message = await (await this.open()).queue(name).get({ noAck: true });
    return message === null ? null : message.body;
  }

  async delete(name: string): Promise<void> {
    await (await this.open()).queue(name).delete({ ifUnused: false, ifEmpty: false });
  }

  get rabbitmq(): string {
    const properties = this.connection.serverProperties as Record<string, unknown>;
    const text = (key: string) => {
      const value = properties[key];
      return value === undefined
        ? undefined
        : Buffer.isBuffer(value)
          ? value.toString()
          : `${value}`;
    };
    const product = text('product') ?? 'RabbitMQ';
    const platform = text('platform');
    return `${product} ${text('version') ?? '?'}${platform === undefined ? '' : ` (${platform})`}`;
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Workers
// ---------------------------------------------------------------------------------------------

interface WorkerRun {
  readonly report: WorkerResult | WorkerFailure | undefined;
  readonly exit: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** Broker CPU at the start and the end of the measured window (sync runs). */
  readonly brokerUs: readonly [number | undefined, number | undefined];
}

/**
 * Compiles bench/worker.ts, bench/tracing.ts and the named clients of bench/clients/ to plain
 * JavaScript (bench/build.ts). Returns the compiled worker's path.
 */
async function buildWorkers(clients: readonly string[]): Promise<string> {
  const entry: Record<string, string> = {
    worker: path.join(ROOT, 'bench', 'worker.ts'),
    // Loaded by the adapters' tracing scenarios only (see bench/clients/warren.ts).
    tracing: path.join(ROOT, 'bench', 'tracing.ts'),
  };
  for (const client of clients) {
    entry[`clients/${client}`] = path.join(ROOT, 'bench', 'clients', `${client}.ts`);
  }
  await compile(entry, true);
  return path.join(BUILD_DIR, 'worker.js');
}

function runWorker(
  worker: string,
  client: string,
  scenario: Scenario,
  input: ScenarioInput,
  timeoutMs: number,
  broker: BrokerCpu | undefined,
  sync: boolean,
  profile?: string,
): Promise<WorkerRun> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(
      process.execPath,
      [worker, client, scenario, JSON.stringify(input)],
      {
        cwd: ROOT,
        env: { ...process.env, BENCH_SYNC: sync ? '1' : '0', BENCH_CPU_PROF: profile ?? '' },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let report: WorkerResult | WorkerFailure | undefined;
    let stderr = '';
    let timedOut = false;
    let brokerStart: number | undefined;
    let brokerEnd: number | undefined;
    const stdout: string[] = [];
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4_000);
    });
    child.stdin?.on('error', () => {}); // the worker may exit before reading
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        stdout.push(line);
        return;
      }
      if ((parsed as { ready?: boolean }).ready === true) {
        brokerStart = broker?.sampleUs();
        child.stdin?.write('go\n');
        return;
      }
      brokerEnd = broker?.sampleUs();
      report = parsed as WorkerResult | WorkerFailure;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const extra = stdout.length > 0 ? `\n(stdout) ${stdout.slice(-20).join('\n')}` : '';
      resolve({
        report,
        exit: signal === null ? `exit code ${code}` : `signal ${signal}`,
        stderr: stderr + extra,
        timedOut,
        brokerUs: [brokerStart, brokerEnd],
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// One run
// ---------------------------------------------------------------------------------------------

interface Measured {
  readonly kind: 'measured';
  /** The round it ran in: a --baseline comparison pairs runs by round. */
  readonly round: number;
  readonly result: WorkerResult;
  readonly brokerCpuUs?: number;
}

type Outcome =
  | Measured
  | { readonly kind: 'n/a'; readonly reason: string }
  | { readonly kind: 'failed'; readonly reason: string };

class Mismatch extends Error {}

interface Context {
  readonly options: Options;
  /** The compiled bench/worker.ts. */
  readonly worker: string;
  readonly url: string;
  readonly admin: Admin;
  readonly broker: BrokerCpu | undefined;
}

function describeFailure(run: WorkerRun, what: string): string {
  if (run.timedOut) return `${what} timed out and was killed`;
  if (run.report !== undefined && !run.report.ok) {
    return `${what} threw: ${run.report.stack ?? run.report.error}`;
  }
  const tail = run.stderr.trim().split('\n').slice(-15).join('\n');
  return `${what} crashed (${run.exit}) without a result${tail === '' ? '' : `:\n${tail}`}`;
}

/** Fills `input.queue` with `input.count` bodies in a separate process, and checks the count. */
async function prefill(
  context: Context,
  input: ScenarioInput,
  scenario: 'publish' | 'typedPublish',
): Promise<void> {
  const { options } = context;
  const client = scenario === 'publish' ? options.prefill : 'warren';
  const run = await runWorker(
    context.worker,
    client,
    scenario,
    input,
    options.timeoutMs,
    undefined,
    false,
  );
  if (run.report === undefined || !run.report.ok) {
    throw new Error(describeFailure(run, `prefill with ${client}`));
  }
  const { messageCount } = await context.admin.counts(input.queue);
  if (messageCount !== input.count) {
    throw new Mismatch(
      `prefill with ${client}: the queue holds ${messageCount} messages, not ${input.count}`,
    );
  }
}

/** Waits until no consumer is left on the queue (the worker's connection is gone). */
async function countsOnceIdle(context: Context, queue: string) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const counts = await context.admin.counts(queue);
    if (counts.consumerCount === 0 || Date.now() > deadline) return counts;
    await sleep(50);
  }
}

/** Checks what the worker reported; throws a {@link Mismatch}. */
function verifyReport(spec: ScenarioSpec, result: WorkerResult): void {
  const { count } = spec;
  if (result.messages !== count) {
    throw new Mismatch(`the client reported ${result.messages} messages, not ${count}`);
  }
  if (spec.name === 'rpc' && result.latency?.count !== count) {
    throw new Mismatch(
      `the client reported ${result.latency?.count ?? 'no'} latencies, not ${count}`,
    );
  }
}

/** Checks what the broker holds after a run; throws a {@link Mismatch}. */
async function verifyQueue(context: Context, spec: ScenarioSpec, queue: string): Promise<void> {
  const { count, size } = spec;
  const counts = await countsOnceIdle(context, queue);
  const indexIn = KEEPS[spec.name];
  if (indexIn !== undefined) {
    if (counts.messageCount !== count) {
      throw new Mismatch(`the queue holds ${counts.messageCount} messages, not ${count}`);
    }
    const first = await context.admin.takeOne(queue);
    if (first === null) throw new Mismatch('the queue is empty on basic.get');
    const index = indexIn(first, size); // throws on a wrong size or content
    if (!(index >= 0 && index < count)) {
      throw new Mismatch(`the first queued body carries index ${index}, outside 0..${count - 1}`);
    }
  } else if (counts.messageCount !== 0) {
    throw new Mismatch(`${counts.messageCount} messages are left in the queue, none should be`);
  }
  if (spec.name === 'retry') {
    const waiting = await context.admin.counts(waitQueueOf(queue));
    if (waiting.messageCount !== 0) {
      throw new Mismatch(`${waiting.messageCount} messages are left in the wait queue`);
    }
  }
}

async function measure(
  context: Context,
  spec: ScenarioSpec,
  client: ClientInfo,
  round: number,
): Promise<Outcome> {
  const queue = `bench.${spec.name}.${client.name}.r${round}.${randomBytes(3).toString('hex')}`;
  const input: ScenarioInput = {
    url: context.url,
    queue,
    count: spec.count,
    size: spec.size,
    window: spec.window,
  };
  try {
    await context.admin.declare(queue);
    const filler = PREFILL[spec.name];
    if (filler !== undefined) await prefill(context, input, filler);
    await quiesce(context.broker);
    const run = await runWorker(
      context.worker,
      client.name,
      spec.name,
      input,
      context.options.timeoutMs,
      context.broker,
      true,
      context.options.cpuProf === undefined
        ? undefined
        : path.join(context.options.cpuProf, `${client.name}.${spec.name}.r${round}.cpuprofile`),
    );
    const report = run.report;
    if (report !== undefined && !report.ok && report.notMeasured) {
      return { kind: 'n/a', reason: report.error };
    }
    if (report === undefined || !report.ok || run.exit !== 'exit code 0') {
      return { kind: 'failed', reason: describeFailure(run, 'the worker') };
    }
    verifyReport(spec, report);
    await verifyQueue(context, spec, queue);
    const [start, end] = run.brokerUs;
    return {
      kind: 'measured',
      round,
      result: report,
      ...(start !== undefined && end !== undefined ? { brokerCpuUs: end - start } : {}),
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      kind: 'failed',
      reason: error instanceof Mismatch ? `verification: ${message}` : message,
    };
  } finally {
    try {
      await context.admin.delete(queue);
      if (spec.name === 'retry') await context.admin.delete(waitQueueOf(queue));
    } catch {
      // the failure above is the news
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------

interface Stat {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

function stat(values: readonly number[]): Stat | undefined {
  const finite = values.filter((value) => Number.isFinite(value));
  if (finite.length === 0) return undefined;
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite) };
}

type Metric = 'rate' | 'cpu' | 'broker' | 'rss' | 'p50' | 'p99';
const HIGHER_IS_BETTER: Record<Metric, boolean> = {
  rate: true,
  cpu: false,
  broker: false,
  rss: false,
  p50: false,
  p99: false,
};

/** Each metric of one run. */
const METRIC_OF: Record<Metric, (run: Measured) => number | undefined> = {
  rate: ({ result }) => result.messages / (result.wallUs / 1e6),
  cpu: ({ result }) => result.cpuUs / result.messages,
  broker: ({ result, brokerCpuUs }) => brokerCpuUs && brokerCpuUs / result.messages,
  rss: ({ result }) => result.maxRssKiB / 1024,
  p50: ({ result }) => result.latency?.p50Us,
  p99: ({ result }) => result.latency?.p99Us,
};

interface Cell {
  readonly client: ClientInfo;
  readonly outcomes: Outcome[];
  status: 'measured' | 'n/a' | 'failed' | 'missing';
  reason?: string;
  stats: Partial<Record<Metric, Stat>>;
}

const measuredRuns = (cell: Cell): Measured[] =>
  cell.outcomes.filter((outcome): outcome is Measured => outcome.kind === 'measured');

function summarize(cell: Cell): void {
  const measured = measuredRuns(cell);
  const failed = cell.outcomes.find((outcome) => outcome.kind === 'failed');
  const notMeasured = cell.outcomes.find((outcome) => outcome.kind === 'n/a');
  if (cell.status === 'missing') return;
  if (failed !== undefined && failed.kind === 'failed') {
    cell.status = 'failed';
    cell.reason = failed.reason;
  } else if (measured.length > 0) cell.status = 'measured';
  else if (notMeasured !== undefined && notMeasured.kind === 'n/a') {
    cell.status = 'n/a';
    cell.reason = notMeasured.reason;
  }
  cell.stats = {};
  for (const metric of Object.keys(METRIC_OF) as Metric[]) {
    const values = measured.map(METRIC_OF[metric]).filter((v): v is number => v !== undefined);
    const value = stat(values);
    if (value !== undefined) cell.stats[metric] = value;
  }
}

interface ScenarioReport {
  readonly spec: ScenarioSpec;
  readonly cells: Cell[];
}

/** The best median among the peers (or undefined when no peer was measured). */
function bestPeer(report: ScenarioReport, metric: Metric): number | undefined {
  const medians = report.cells
    .filter((cell) => cell.client.role === 'peer' && cell.status === 'measured')
    .map((cell) => cell.stats[metric]?.median)
    .filter((value): value is number => value !== undefined);
  if (medians.length === 0) return undefined;
  return HIGHER_IS_BETTER[metric] ? Math.max(...medians) : Math.min(...medians);
}

function ceiling(report: ScenarioReport, metric: Metric): number | undefined {
  const cell = report.cells.find((c) => c.client.role === 'ceiling' && c.status === 'measured');
  return cell?.stats[metric]?.median;
}

function ratio(cell: Cell, metric: Metric, base: number | undefined): number | undefined {
  const value = cell.stats[metric]?.median;
  if (value === undefined || base === undefined || base === 0 || cell.status !== 'measured') {
    return undefined;
  }
  return value / base;
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

interface Environment {
  readonly date: string;
  readonly machine: string;
  readonly node: string;
  readonly rabbitmq: string;
  readonly broker: string;
  readonly brokerCpu: string;
  readonly versions: readonly { client: string; version: string }[];
  /** With --baseline: which bench/client.ts its adapter was compiled against, and why. */
  readonly baseline?: string;
  readonly command: string;
  readonly durationS: number;
}

function packageVersion(pkg: string): string {
  try {
    const json = JSON.parse(
      readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8'),
    );
    return String((json as { version?: unknown }).version ?? '?');
  } catch {
    return 'not installed';
  }
}

function clientVersion(client: ClientInfo, baseline: Baseline | undefined): string {
  switch (client.role) {
    case 'subject':
      return warrenVersion();
    case 'baseline':
      return baseline === undefined
        ? '?'
        : `${baseline.version} (${baseline.short}, --baseline ${baseline.ref})`;
    default:
      return client.pkg !== undefined ? packageVersion(client.pkg) : 'bench/clients/reference.ts';
  }
}

function warrenVersion(): string {
  const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    const commit = git('rev-parse', '--short', 'HEAD').trim();
    const dirty = git('status', '--porcelain', '--', 'lib').trim() !== '' ? ', lib/ modified' : '';
    return `${version} (${commit}${dirty})`;
  } catch {
    return version;
  }
}

function machine(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  const memory = (os.totalmem() / 1024 ** 3).toFixed(1);
  return `${model}, ${cpus.length} cores, ${memory} GiB RAM, ${os.type()} ${os.release()} (${os.arch()})`;
}

const int = (value: number) => Math.round(value).toLocaleString('en-US');

function decimal(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1000) return int(value);
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function format(metric: Metric, value: number): string {
  return metric === 'rate' || metric === 'rss' ? int(value) : decimal(value);
}

function statText(metric: Metric, value: Stat | undefined, rounds: number): string {
  if (value === undefined) return 'n/a';
  const median = format(metric, value.median);
  if (rounds === 1 || value.min === value.max) return median;
  return `${median} (${format(metric, value.min)}–${format(metric, value.max)})`;
}

const times = (value: number | undefined) => (value === undefined ? '–' : `${value.toFixed(2)}×`);

function cellText(cell: Cell, metric: Metric, rounds: number): string {
  if (cell.status === 'missing') return 'missing';
  if (cell.status === 'n/a') return 'n/a';
  if (cell.status === 'failed') return '**FAILED**';
  return statText(metric, cell.stats[metric], rounds);
}

function scenarioTable(report: ScenarioReport, rounds: number, notes: string[]): string {
  const rpc = report.spec.name === 'rpc';
  const headers = [
    'client',
    rpc ? 'round trips/s' : 'msg/s',
    'client CPU µs/msg',
    'broker CPU µs/msg',
    'peak RSS MiB',
    ...(rpc ? ['p50 µs', 'p99 µs'] : []),
    'CPU ÷ best peer',
    rpc ? 'p50 ÷ best peer' : 'msg/s ÷ best peer',
    'CPU ÷ ceiling',
    'msg/s ÷ ceiling',
  ];
  const lines = [
    `| ${headers.join(' | ')} |`,
    `|${headers.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
  ];
  for (const cell of report.cells) {
    const label = cell.client.role === 'subject' ? `**${cell.client.label}**` : cell.client.label;
    const row = [
      label,
      cellText(cell, 'rate', rounds),
      cellText(cell, 'cpu', rounds),
      cellText(cell, 'broker', rounds),
      cellText(cell, 'rss', rounds),
      ...(rpc ? [cellText(cell, 'p50', rounds), cellText(cell, 'p99', rounds)] : []),
      times(ratio(cell, 'cpu', bestPeer(report, 'cpu'))),
      times(ratio(cell, rpc ? 'p50' : 'rate', bestPeer(report, rpc ? 'p50' : 'rate'))),
      times(ratio(cell, 'cpu', ceiling(report, 'cpu'))),
      times(ratio(cell, 'rate', ceiling(report, 'rate'))),
    ];
    lines.push(`| ${row.join(' | ')} |`);
    if (cell.reason !== undefined && cell.status !== 'measured') {
      const firstLine = cell.reason.split('\n')[0] ?? '';
      notes.push(`${cell.client.label}, ${report.spec.name}: ${cell.status}: ${firstLine}`);
    }
  }
  return lines.join('\n');
}

/**
 * For a scenario that adds a capability to a plain one (retry beside consume): what it costs,
 * as each client's medians here divided by its own in the plain scenario of the same run.
 */
function besideLines(report: ScenarioReport, reports: readonly ScenarioReport[]): string[] {
  const plain = reports.find((other) => other.spec.name === report.spec.beside);
  if (plain === undefined) return [];
  const lines: string[] = [];
  for (const cell of report.cells) {
    const base = plain.cells.find((other) => other.client === cell.client);
    if (cell.status !== 'measured' || base?.status !== 'measured') continue;
    const cpu = ratio(cell, 'cpu', base.stats.cpu?.median);
    const rate = ratio(cell, 'rate', base.stats.rate?.median);
    lines.push(
      `- ${cell.client.label}: client CPU per message ${times(cpu)}, msg/s ${times(rate)} its ${plain.spec.name} figures`,
    );
  }
  if (lines.length === 0) return [];
  return [
    `Beside the ${plain.spec.name} scenario of this run (medians divided):\n\n${lines.join('\n')}`,
  ];
}

interface Target {
  readonly text: string;
  readonly scenario: Scenario;
  readonly metric: Metric;
  readonly against: 'peer' | 'ceiling' | 'absolute';
  readonly limit: number;
  /** The ratio (or value) must be at most the limit; otherwise at least. */
  readonly atMost: boolean;
}

/** Issue 15's targets (issue 6's, raised), and the one of issue 6 it did not restate. */
const TARGETS: readonly Target[] = [
  {
    text: 'publish without confirms: CPU per message ≤ 0.3 × best peer',
    scenario: 'publish',
    metric: 'cpu',
    against: 'peer',
    limit: 0.3,
    atMost: true,
  },
  {
    text: 'publish without confirms: throughput ≥ 0.97 × ceiling (issue 6)',
    scenario: 'publish',
    metric: 'rate',
    against: 'ceiling',
    limit: 0.97,
    atMost: false,
  },
  {
    text: 'publish with confirms: CPU per message ≤ 0.45 × best peer',
    scenario: 'publishConfirm',
    metric: 'cpu',
    against: 'peer',
    limit: 0.45,
    atMost: true,
  },
  {
    text: 'consume with per-message acks: CPU per message ≤ 0.5 × best peer',
    scenario: 'consume',
    metric: 'cpu',
    against: 'peer',
    limit: 0.5,
    atMost: true,
  },
  {
    text: 'large bodies: throughput ≥ 0.95 × ceiling',
    scenario: 'large',
    metric: 'rate',
    against: 'ceiling',
    limit: 0.95,
    atMost: false,
  },
  {
    text: 'large bodies: peak RSS ≤ 150 MiB',
    scenario: 'large',
    metric: 'rss',
    against: 'absolute',
    limit: 150,
    atMost: true,
  },
  {
    text: 'request/reply: p50 ≤ best peer',
    scenario: 'rpc',
    metric: 'p50',
    against: 'peer',
    limit: 1,
    atMost: true,
  },
];

function targetsTable(reports: readonly ScenarioReport[]): string {
  const lines = ['| target | warren | met |', '| --- | ---: | :---: |'];
  for (const target of TARGETS) {
    const report = reports.find((r) => r.spec.name === target.scenario);
    const cell = report?.cells.find((c) => c.client.role === 'subject');
    let value: number | undefined;
    if (report !== undefined && cell !== undefined) {
      if (target.against === 'absolute') {
        value = cell.status === 'measured' ? cell.stats[target.metric]?.median : undefined;
      } else {
        const base =
          target.against === 'peer'
            ? bestPeer(report, target.metric)
            : ceiling(report, target.metric);
        value = ratio(cell, target.metric, base);
      }
    }
    const shown =
      value === undefined
        ? 'n/a'
        : target.against === 'absolute'
          ? `${format(target.metric, value)} MiB`
          : `${value.toFixed(2)}×`;
    const met =
      value === undefined
        ? '–'
        : (target.atMost ? value <= target.limit : value >= target.limit)
          ? '✓'
          : '✗';
    lines.push(`| ${target.text} | ${shown} | ${met} |`);
  }
  lines.push(
    '| memory: 1,000,000 consumed messages leave the heap within 10% | `npm run bench:memory`: [benchmarks-memory.md](benchmarks-memory.md) | – |',
    '| 10,000 queues, each bound and consumed, recover in ≤ 3 s | `npm run bench:topology`: [benchmarks-topology.md](benchmarks-topology.md) | – |',
    '| 100 connections × 10 channels: CPU per message against one connection | `npm run bench:connections`: [benchmarks-connections.md](benchmarks-connections.md) | – |',
    '| where the CPU goes, per message | `npm run bench:breakdown`: [benchmarks-breakdown.md](benchmarks-breakdown.md) | – |',
  );
  return lines.join('\n');
}

/** The metrics the --baseline comparison divides, as its columns. */
const COMPARED: readonly { readonly metric: Metric; readonly title: string }[] = [
  { metric: 'rate', title: 'msg/s' },
  { metric: 'cpu', title: 'client CPU/msg' },
  { metric: 'broker', title: 'broker CPU/msg' },
  { metric: 'rss', title: 'peak RSS' },
  { metric: 'p50', title: 'p50 latency' },
];

/**
 * warren ÷ baseline for one metric, one ratio per round in which both were measured: the two
 * runs of a round ran one right after the other, so a drift of the machine over the rounds
 * divides out.
 */
function pairedRatios(subject: Cell, baseline: Cell, metric: Metric): number[] {
  const ours = new Map(measuredRuns(subject).map((run) => [run.round, METRIC_OF[metric](run)]));
  const ratios: number[] = [];
  for (const run of measuredRuns(baseline)) {
    const mine = ours.get(run.round);
    const theirs = METRIC_OF[metric](run);
    if (mine !== undefined && theirs !== undefined && theirs > 0) ratios.push(mine / theirs);
  }
  return ratios;
}

/** Rounds from which a difference is called: their range is then a 94% confidence interval. */
const ROUNDS_TO_CALL = 5;

/**
 * What the ratios of throughput and client CPU say. The range of n paired ratios is a
 * confidence interval for their true median with confidence 1 − 2^(1−n) (the chance that all n
 * fall on one side of it is 2 × 2^−n): a difference is named when the range is all on one side
 * of 1×, and called (in bold, when a regression) from {@link ROUNDS_TO_CALL} rounds on.
 */
function reading(rate: readonly number[], cpu: readonly number[]): string {
  const rounds = Math.min(rate.length, cpu.length);
  if (rounds === 0) return 'n/a';
  if (rounds === 1) return 'one round: no range to judge by';
  const confidence = `${Math.round(100 * (1 - 2 ** (1 - rounds)))}% confidence`;
  const worse: string[] = [];
  const better: string[] = [];
  if (rate.every((r) => r < 1)) worse.push('slower');
  else if (rate.every((r) => r > 1)) better.push('faster');
  if (cpu.every((r) => r > 1)) worse.push('more CPU');
  else if (cpu.every((r) => r < 1)) better.push('less CPU');
  if (worse.length + better.length === 0) return 'no difference shown: the ranges span 1×';
  const all = `in all ${rounds} rounds`;
  if (rounds < ROUNDS_TO_CALL) {
    return `${[...worse, ...better].join(', ')} ${all}, too few to call (${confidence})`;
  }
  return `${[...worse.map((what) => `**${what}**`), ...better].join(', ')} ${all} (${confidence})`;
}

/**
 * The section that reads "did this change make warren slower" off one table: warren ÷ baseline
 * per scenario, undefined without a baseline or without warren.
 */
function comparisonSection(
  reports: readonly ScenarioReport[],
  environment: Environment,
  options: Options,
): string | undefined {
  const { baseline } = options;
  const ours = options.clients.find((client) => client.role === 'subject');
  const theirs = options.clients.find((client) => client.role === 'baseline');
  if (baseline === undefined || ours === undefined || theirs === undefined) return undefined;
  const headers = ['scenario', ...COMPARED.map((column) => column.title), 'reading'];
  const lines = [
    `| ${headers.join(' | ')} |`,
    `|${headers.map((_, i) => (i === 0 || i === headers.length - 1 ? ' --- ' : ' ---: ')).join('|')}|`,
  ];
  for (const report of reports) {
    const subject = report.cells.find((cell) => cell.client === ours);
    const base = report.cells.find((cell) => cell.client === theirs);
    if (subject === undefined || base === undefined) continue;
    if (subject.status !== 'measured' || base.status !== 'measured') {
      const why = `warren ${subject.status}, ${theirs.name} ${base.status}`;
      lines.push(`| ${report.spec.name} | ${COMPARED.map(() => '–').join(' | ')} | ${why} |`);
      continue;
    }
    const ratios = (metric: Metric) => pairedRatios(subject, base, metric);
    const columns = COMPARED.map(({ metric }) => {
      const value = stat(ratios(metric));
      if (value === undefined) return '–';
      const range =
        value.min === value.max ? '' : ` (${value.min.toFixed(2)}–${value.max.toFixed(2)})`;
      return `${value.median.toFixed(2)}×${range}`;
    });
    lines.push(
      `| ${report.spec.name} | ${columns.join(' | ')} | ${reading(ratios('rate'), ratios('cpu'))} |`,
    );
  }
  return [
    `## warren ÷ ${theirs.name}`,
    '',
    `${theirs.name} is warren at ${baseline.commit.startsWith(baseline.ref) ? '' : `\`${baseline.ref}\`, `}` +
      `commit ${baseline.commit}: that commit's ` +
      `lib/ and bench/clients/warren.ts, compiled the same way as the other clients; ` +
      `${environment.baseline ?? 'bench/client.ts as today'}. ` +
      `Each figure is the median of the per-round ratios warren ÷ ${theirs.name}, the range of ` +
      'the rounds in parentheses; within a round the two ran one after the other, on the same ' +
      'broker. Above 1× is more throughput, or more CPU, memory or latency. The range of n rounds ' +
      'is a confidence interval for the median ratio with confidence 1 − 2^(1−n) (94% for 5 ' +
      'rounds, 50% for 2): the reading names a difference in throughput or client CPU only when ' +
      `the range lies on one side of 1×, and calls it from ${ROUNDS_TO_CALL} rounds on.`,
    '',
    lines.join('\n'),
    '',
  ].join('\n');
}

/**
 * The section that says where warren's CPU goes: the scenario sections of the breakdown report
 * beside this one (`npm run bench:breakdown`, its own profiled run), when there is one.
 */
function breakdownSection(breakdown: string | undefined): string[] {
  const at = breakdown?.indexOf('\n### ') ?? -1;
  if (breakdown === undefined || at < 0) return [];
  const generated = /^Generated by .*$/m.exec(breakdown)?.[0] ?? '';
  return [
    "## Where warren's CPU goes",
    '',
    'Per message, by part of its life, from CPU profiles of warren in a run of its own ' +
      '([benchmarks-breakdown.md](benchmarks-breakdown.md), which says how samples are charged; ' +
      `${generated.replace(/^Generated by/, 'generated by').replace(/\.$/, '')}). The profiler adds CPU: ` +
      'the parts compare with each other, the totals above are the figures to quote.',
    '',
    breakdown
      .slice(at + 1)
      .replace(/^### /gm, '### warren, ')
      .trimEnd(),
    '',
  ];
}

function markdown(
  reports: readonly ScenarioReport[],
  environment: Environment,
  options: Options,
  svgName: string,
  breakdown?: string,
): string {
  const notes: string[] = [];
  const sections = reports.map((report) =>
    [
      `### ${report.spec.name}: ${report.spec.title}`,
      scenarioTable(report, options.rounds, notes),
      ...besideLines(report, reports),
    ].join('\n\n'),
  );
  const versions = environment.versions.map((v) => `${v.client} ${v.version}`).join(', ');
  const comparison = comparisonSection(reports, environment, options);
  const minutes = Math.floor(environment.durationS / 60);
  const seconds = Math.round(environment.durationS % 60);
  return [
    options.smoke ? '# Benchmarks (smoke run: tiny counts, figures mean nothing)' : '# Benchmarks',
    '',
    `Generated by \`bench/run.ts\` on ${environment.date} in ${minutes} min ${seconds} s. Reproduce with:`,
    '',
    '```sh',
    environment.command,
    '```',
    '',
    '| environment | |',
    '| --- | --- |',
    `| machine | ${environment.machine} |`,
    `| Node | ${environment.node} |`,
    `| broker | ${environment.rabbitmq}, ${environment.broker} |`,
    `| clients | ${versions} |`,
    `| rounds | ${options.rounds} per client and scenario, clients interleaved round by round |`,
    '',
    'Every run is a fresh process (bench/worker.ts and the clients, compiled to JavaScript first, so ' +
      'that no TypeScript loader runs beside the client) with a fresh queue, and is checked afterwards: ' +
      'counts, sizes and content. Every client publishes the same bodies, made cheaply by ' +
      'bench/client.ts (the 8 MiB ones from a ring of two buffers, rewritten once their publish is ' +
      `confirmed); in the large scenario every client, the reference included, keeps at most ` +
      `${LARGE_PUBLISH_WINDOW} publishes unconfirmed. ` +
      'Figures are the median of the runs, their range in parentheses. ' +
      '**Client CPU** is the process CPU (user + system, all threads) over the scenario, per ' +
      "message; **broker CPU** is the RabbitMQ VM's CPU over the same window, per message " +
      `(${environment.brokerCpu}); **peak RSS** is the worker process's high-water mark. ` +
      'Ratios compare medians to the best of amqplib, @cloudamqp/amqp-client and rabbitmq-client ' +
      '("best peer": the lowest CPU, the highest throughput) and to the reference client in ' +
      'bench/clients/reference.ts, which writes pre-encoded frames and only counts frame boundaries ' +
      '("ceiling"). Below 1× is less CPU (or latency); above 1× is more throughput.',
    '',
    `![Throughput and client CPU per message, per scenario and client](${svgName})`,
    '',
    '## Results',
    '',
    ...sections.flatMap((section) => [section, '']),
    ...(notes.length > 0
      ? ['Not measured or failed:', '', ...notes.map((note) => `- ${note}`), '']
      : []),
    ...(comparison === undefined ? [] : [comparison]),
    '## Targets',
    '',
    targetsTable(reports),
    '',
    ...breakdownSection(breakdown),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Chart (hand-written SVG)
// ---------------------------------------------------------------------------------------------

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function chartSvg(
  reports: readonly ScenarioReport[],
  clients: readonly ClientInfo[],
  smoke: boolean,
): string {
  const width = 960;
  const margin = 16;
  const labelWidth = 160;
  const gap = 32;
  const panelWidth = (width - 2 * margin - labelWidth - gap) / 2;
  const valueWidth = 64;
  const barArea = panelWidth - valueWidth;
  const barHeight = 14;
  const rowHeight = 19;
  const headerHeight = 64;
  const blockTitle = 22;
  const blockHeight = blockTitle + clients.length * rowHeight + 16;
  const height = headerHeight + reports.length * blockHeight + margin;
  const panels: { metric: Metric; title: string; x: number }[] = [
    { metric: 'rate', title: 'messages/s (higher is better)', x: margin + labelWidth },
    {
      metric: 'cpu',
      title: 'client CPU µs per message (lower is better)',
      x: margin + labelWidth + panelWidth + gap,
    },
  ];
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12" role="img">`,
    '<title>warren and its peers: messages per second and client CPU per message, per scenario</title>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${margin}" y="24" font-size="16" font-weight="bold">warren and its peers${smoke ? ' (smoke run, figures mean nothing)' : ''}</text>`,
    `<text x="${margin}" y="42" fill="#555">median of the runs; the line spans the range</text>`,
  ];
  for (const panel of panels) {
    out.push(
      `<text x="${panel.x}" y="${headerHeight - 6}" font-weight="bold">${escapeXml(panel.title)}</text>`,
    );
  }
  reports.forEach((report, index) => {
    const top = headerHeight + index * blockHeight;
    out.push(
      `<text x="${margin}" y="${top + 15}" font-weight="bold">${escapeXml(report.spec.name)}</text>`,
      `<text x="${margin + labelWidth}" y="${top + 15}" fill="#555">${escapeXml(report.spec.title)}</text>`,
      `<line x1="${margin}" x2="${width - margin}" y1="${top + 2}" y2="${top + 2}" stroke="#ddd"/>`,
    );
    for (const panel of panels) {
      const maxima = report.cells
        .filter((cell) => cell.status === 'measured')
        .map((cell) => cell.stats[panel.metric]?.max ?? 0);
      const scale = Math.max(...maxima, 0) || 1;
      report.cells.forEach((cell, row) => {
        const y = top + blockTitle + row * rowHeight;
        if (panel === panels[0]) {
          out.push(
            `<text x="${margin + labelWidth - 8}" y="${y + barHeight - 3}" text-anchor="end"${cell.client.role === 'subject' ? ' font-weight="bold"' : ''}>${escapeXml(cell.client.label)}</text>`,
          );
        }
        const value = cell.stats[panel.metric];
        if (cell.status !== 'measured' || value === undefined) {
          const text =
            cell.status === 'failed' ? 'failed' : cell.status === 'missing' ? 'missing' : 'n/a';
          const color = cell.status === 'failed' ? '#c00' : '#888';
          out.push(
            `<text x="${panel.x + 4}" y="${y + barHeight - 3}" fill="${color}">${text}</text>`,
          );
          return;
        }
        const length = (v: number) => (v / scale) * barArea;
        const barEnd = panel.x + length(value.median);
        out.push(
          `<rect x="${panel.x}" y="${y}" width="${Math.max(length(value.median), 1).toFixed(1)}" height="${barHeight}" fill="${cell.client.color}"/>`,
        );
        if (value.max > value.min) {
          const mid = y + barHeight / 2;
          const x1 = (panel.x + length(value.min)).toFixed(1);
          const x2 = (panel.x + length(value.max)).toFixed(1);
          out.push(
            `<path d="M${x1} ${mid}H${x2}M${x1} ${mid - 4}V${mid + 4}M${x2} ${mid - 4}V${mid + 4}" stroke="#222" stroke-width="1" fill="none"/>`,
          );
        }
        const textX = Math.max(barEnd, panel.x + length(value.max)) + 4;
        out.push(
          `<text x="${textX.toFixed(1)}" y="${y + barHeight - 3}" fill="#222">${escapeXml(format(panel.metric, value.median))}</text>`,
        );
      });
    }
  });
  out.push('</svg>', '');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Progress
// ---------------------------------------------------------------------------------------------

/** The progress line on stderr: redrawn in place each second on a terminal, else a line per run. */
class Progress {
  private readonly tty = process.stderr.isTTY === true;
  private readonly began = performance.now();
  private text: string | undefined;
  private timer: NodeJS.Timeout | undefined;

  elapsed(): string {
    const seconds = Math.round((performance.now() - this.began) / 1000);
    return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  }

  show(text: string): void {
    if (!this.tty) {
      process.stderr.write(`[bench] ${text} · ${this.elapsed()}\n`);
      return;
    }
    this.text = text;
    this.draw();
    this.timer ??= setInterval(() => this.draw(), 1_000).unref();
  }

  private draw(): void {
    if (this.text === undefined) return;
    const line = `[bench] ${this.text} · ${this.elapsed()}`;
    const columns = process.stderr.columns || 120;
    process.stderr.write(`\r\x1b[K${line.slice(0, columns - 1)}`);
  }

  /** A line that stays (the progress line is redrawn below it). */
  log(text: string): void {
    const current = this.text;
    this.clear();
    process.stderr.write(`${text}\n`);
    this.text = current;
    this.draw();
  }

  clear(): void {
    if (this.text !== undefined) process.stderr.write('\r\x1b[K');
    this.text = undefined;
  }

  stop(): void {
    this.clear();
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

async function main(argv: readonly string[]): Promise<number> {
  const options = parseOptions(argv);
  const progress = new Progress();
  const began = performance.now();

  const present = options.clients.filter((client) => {
    if (client.role === 'baseline') return true; // from git: resolved already, extracted below
    const found = existsSync(path.join(ROOT, 'bench', 'clients', `${client.name}.ts`));
    if (!found)
      progress.log(`[bench] bench/clients/${client.name}.ts is missing: ${client.label} skipped`);
    return found;
  });
  if (!existsSync(path.join(ROOT, 'bench', 'clients', `${options.prefill}.ts`))) {
    throw new UsageError(
      `--prefill ${options.prefill}: bench/clients/${options.prefill}.ts is missing`,
    );
  }

  const lease =
    options.url === undefined
      ? await findOrStartBroker()
      : {
          url: options.url,
          description: `using ${redactUrl(options.url)}`,
          release: async () => {},
        };
  progress.log(`[bench] ${lease.description}`);
  let admin: Admin | undefined;
  try {
    admin = await Admin.open(lease.url);
    const found = BrokerCpu.find(lease.url);
    const broker = typeof found === 'string' ? undefined : found;
    const brokerCpu =
      typeof found === 'string'
        ? `n/a: ${found}`
        : `read from /proc of beam.smp ${found.pids.join(', ')}`;
    progress.log(`[bench] broker CPU: ${brokerCpu}`);
    const names = new Set([
      ...present.filter((client) => client.role !== 'baseline').map((client) => client.name),
      options.prefill,
    ]);
    const worker = await buildWorkers([...names]);
    let baselineNote: string | undefined;
    if (options.baseline !== undefined) {
      const { baseline } = options;
      progress.log(`[bench] baseline: compiling warren at ${baseline.ref} (${baseline.short})`);
      baselineNote = await buildBaseline(baseline, baselineClient(baseline).name);
      progress.log(`[bench] baseline warren@${baseline.short}: ${baselineNote}`);
    }
    if (options.cpuProf !== undefined) await fs.mkdir(options.cpuProf, { recursive: true });
    const context: Context = { options, worker, url: lease.url, admin, broker };

    const reports: ScenarioReport[] = options.scenarios.map((spec) => ({
      spec,
      cells: options.clients.map((client) => ({
        client,
        outcomes: [],
        status: present.includes(client) ? ('n/a' as const) : ('missing' as const),
        stats: {},
      })),
    }));
    const total = options.rounds * options.scenarios.length * present.length;
    let done = 0;
    let failures = 0;
    for (let round = 1; round <= options.rounds; round++) {
      for (const report of reports) {
        // Rotate the order each round, so that no client always runs right after the same one.
        const shift = (round - 1) % Math.max(present.length, 1);
        const order = [...present.slice(shift), ...present.slice(0, shift)];
        for (const client of order) {
          const cell = report.cells.find((c) => c.client === client) as Cell;
          done++;
          if (cell.outcomes.some((outcome) => outcome.kind === 'n/a')) continue; // said so once
          progress.show(
            `round ${round}/${options.rounds} · ${report.spec.name} · ${client.name} · run ${done}/${total}`,
          );
          const outcome = await measure(context, report.spec, client, round);
          cell.outcomes.push(outcome);
          if (outcome.kind === 'failed') {
            failures++;
            progress.log(
              `[bench] FAILED: ${client.name} ${report.spec.name} round ${round}: ${outcome.reason}`,
            );
            if (!admin.connection.isOpen) {
              throw new Error('the connection to the broker is gone: benchmark aborted');
            }
          } else if (outcome.kind === 'n/a') {
            progress.log(`[bench] n/a: ${client.name} ${report.spec.name}: ${outcome.reason}`);
          }
        }
      }
    }
    progress.stop();
    for (const report of reports) for (const cell of report.cells) summarize(cell);

    const durationS = (performance.now() - began) / 1000;
    const command = [
      'npm run bench',
      ...(options.argv.length > 0 ? ['--', ...options.argv] : []),
    ].join(' ');
    const environment: Environment = {
      date: reportDate(),
      machine: machine(),
      node: process.version,
      rabbitmq: admin.rabbitmq,
      broker:
        options.url !== undefined
          ? 'given with --url'
          : lease.description.startsWith('started')
            ? 'a throwaway node started by the benchmark'
            : lease.description.replace(/^using /, ''),
      brokerCpu: brokerCpu.replace(/ \d+(, \d+)*$/, ''),
      versions: options.clients.map((client) => ({
        client: client.label,
        version: clientVersion(client, options.baseline),
      })),
      ...(baselineNote === undefined ? {} : { baseline: baselineNote }),
      command,
      durationS,
    };

    const toDocs =
      options.out === undefined &&
      !options.smoke &&
      options.baseline === undefined &&
      // The profiler's own CPU would be in every figure.
      options.cpuProf === undefined &&
      failures === 0;
    const outDir =
      options.out ??
      (toDocs
        ? path.join(ROOT, 'docs')
        : await fs.mkdtemp(path.join(os.tmpdir(), 'warren-bench-')));
    await fs.mkdir(outDir, { recursive: true });
    const mdFile = path.join(outDir, 'benchmarks.md');
    const svgFile = path.join(outDir, 'benchmarks.svg');
    const breakdownFile = path.join(outDir, 'benchmarks-breakdown.md');
    const breakdown = existsSync(breakdownFile) ? readFileSync(breakdownFile, 'utf8') : undefined;
    const text = formatMarkdown(
      markdown(reports, environment, options, 'benchmarks.svg', breakdown),
    );
    await fs.writeFile(mdFile, text);
    await fs.writeFile(svgFile, chartSvg(reports, options.clients, options.smoke));
    if (options.json !== undefined) {
      await fs.writeFile(
        options.json,
        `${JSON.stringify(
          {
            environment,
            rounds: options.rounds,
            smoke: options.smoke,
            failures,
            ...(options.baseline === undefined ? {} : { baseline: options.baseline }),
            scenarios: reports.map((report) => ({
              ...report.spec,
              cells: report.cells.map((cell) => ({
                client: cell.client.name,
                status: cell.status,
                reason: cell.reason,
                stats: cell.stats,
                runs: cell.outcomes,
              })),
            })),
          },
          null,
          2,
        )}\n`,
      );
    }
    if (options.smoke || failures > 0) process.stdout.write(`${text}\n`);
    else if (options.baseline !== undefined) {
      const section = comparisonSection(reports, environment, options);
      if (section !== undefined) process.stdout.write(`${formatMarkdown(section)}\n`);
    }
    const minutes = Math.floor(durationS / 60);
    progress.log(
      `[bench] ${total} runs in ${minutes} min ${Math.round(durationS % 60)} s; report: ${mdFile}`,
    );
    if (failures > 0) {
      progress.log(
        `[bench] ${failures} run(s) FAILED (see above)${toDocs || options.out !== undefined ? '' : '; docs/ left untouched'}`,
      );
      return 1;
    }
    return 0;
  } finally {
    progress.stop();
    await admin?.close().catch(() => {});
    await lease.release();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`bench: ${error.message}\n${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(
      `\n[bench] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
