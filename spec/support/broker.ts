/**
 * Throwaway RabbitMQ nodes for integration and fault tests.
 *
 * {@link startBroker} starts a private node (own ports, own data folder, own Erlang cookie) from
 * the locally installed `rabbitmq-server` package and resolves once it speaks AMQP.
 * {@link Broker.stop} stops it and removes every trace of it. Nodes that are still running when
 * the process exits or is interrupted are killed synchronously, so an aborted test run leaves
 * nothing behind.
 *
 * Nodes run as the `rabbitmq` user when this process is root (RabbitMQ refuses to start with a
 * data folder it cannot write), and as the current user otherwise.
 *
 * @module
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { redactUrl } from '../../lib/options.js';

/** Options for {@link startBroker}. Everything is optional; the defaults give a fresh node. */
export interface StartBrokerOptions {
  /**
   * Erlang node name; `@localhost` is appended when it has no host part.
   * Defaults to `warren-<pid>-<counter>-<random>@localhost` (unique even across module copies).
   */
  nodeName?: string;
  /** AMQP port on 127.0.0.1. Defaults to a free port. */
  amqpPort?: number;
  /** Erlang distribution port. Defaults to a free port (RabbitMQ's own default, AMQP + 20000, may collide). */
  distPort?: number;
  /** Extra environment for the node (and its `rabbitmqctl`), e.g. `RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS`. */
  extraEnv?: Record<string, string>;
  /** How long to wait for the node to accept AMQP before giving up. Defaults to 60 000 ms. */
  startTimeoutMs?: number;
  /** Adds a TLS (`amqps://`) listener on 127.0.0.1 beside the plain AMQP one. */
  tls?: BrokerTlsOptions;
  /**
   * Plugins to enable at boot, written to the node's `enabled_plugins` file, e.g.
   * `rabbitmq_auth_mechanism_ssl` (SASL EXTERNAL). They must be installed: Debian's package ships
   * them all under `/usr/lib/rabbitmq/lib/rabbitmq_server-<version>/plugins`. Defaults to none.
   */
  plugins?: string[];
  /**
   * More lines for the node's `rabbitmq.conf` (sysctl format), after the TLS ones, e.g.
   * `auth_mechanisms.1 = EXTERNAL` or `ssl_cert_login_from = common_name`. The file is written,
   * and passed as `RABBITMQ_CONFIG_FILE`, only when there is TLS or such a line.
   */
  extraConfig?: string[];
  /**
   * The node's Erlang cookie, written to `<dir>/home/.erlang.cookie` (its `rabbitmqctl` reads
   * the same file). Nodes that share a cookie can form a cluster. Defaults to a fresh one that
   * Erlang generates at the first start.
   */
  erlangCookie?: string;
}

/**
 * A TLS listener for {@link startBroker}, written as `rabbitmq.conf` in the node's folder and
 * passed as `RABBITMQ_CONFIG_FILE` (an `extraEnv` of that name wins). The broker does not ask
 * for a client certificate (`verify_none`, `fail_if_no_peer_cert = false`) unless
 * {@link BrokerTlsOptions.verifyPeer} says so.
 *
 * The files are PEM and must be readable by the node's user, `rabbitmq` when this process is
 * root: chown them to {@link resolveRunAs}'s uid/gid, folders included. RabbitMQ checks them at
 * boot: a file it cannot read fails the start (`failed_to_prepare_configuration`).
 *
 * For SASL EXTERNAL (log in as the client certificate's subject), add `verifyPeer: true`, the
 * {@link StartBrokerOptions.plugins} `['rabbitmq_auth_mechanism_ssl']` and the
 * {@link StartBrokerOptions.extraConfig} lines `auth_mechanisms.1 = EXTERNAL` (plus
 * `auth_mechanisms.2 = PLAIN` to keep user name and password logins) and
 * `ssl_cert_login_from = common_name`; the user must exist (`rabbitmqctl add_user`).
 */
export interface BrokerTlsOptions {
  /** TLS port on 127.0.0.1. Defaults to a free port. */
  port?: number;
  /** The broker's certificate (`ssl_options.certfile`). */
  certFile: string;
  /** The broker's private key, unencrypted (`ssl_options.keyfile`). */
  keyFile: string;
  /** The CA certificates the broker trusts and sends with its chain (`ssl_options.cacertfile`). */
  caFile: string;
  /**
   * Requires a client certificate signed by a CA in {@link caFile}: without one the TLS handshake
   * fails (`ssl_options.verify = verify_peer`, `fail_if_no_peer_cert = true`). Defaults to false.
   */
  verifyPeer?: boolean;
}

/** A running RabbitMQ node started by {@link startBroker}. */
export interface Broker {
  /** `amqp://guest:guest@127.0.0.1:<amqpPort>/` */
  readonly url: string;
  /** Full Erlang node name, e.g. `warren-1234-1@localhost`. */
  readonly nodeName: string;
  readonly amqpPort: number;
  readonly distPort: number;
  /** The TLS port on 127.0.0.1 when started with {@link StartBrokerOptions.tls}; else undefined. */
  readonly tlsPort: number | undefined;
  /** Pid of the `rabbitmq-server` script (of the latest start); the Erlang VM is its child. */
  readonly pid: number;
  /** The node's temporary folder (data, logs, home); removed by {@link Broker.stop}. */
  readonly dir: string;
  /**
   * Runs `rabbitmqctl -n <nodeName> ...args` as the node's user with the node's environment.
   * Resolves with stdout; rejects with a {@link RabbitmqctlError} carrying stderr on failure.
   */
  rabbitmqctl(...args: string[]): Promise<string>;
  /**
   * Kills the node as a crash would: SIGKILL to the start script, the Erlang VM and its helpers
   * at once, no shutdown of any kind (the kernel closes its sockets). Keeps the folder, so that
   * {@link Broker.restart} can bring the same node back. Resolves once the process has exited;
   * does nothing when it is not running.
   */
  kill(): Promise<void>;
  /**
   * Starts a node that {@link Broker.kill} killed (or that died) again: same name, ports, cookie
   * and data, so a cluster member rejoins its cluster. Resolves once it accepts AMQP; rejects
   * with the tail of its output and logs otherwise (the folder stays until {@link Broker.stop}).
   */
  restart(): Promise<void>;
  /**
   * Stops the node gracefully (SIGTERM, then SIGKILL of the whole process tree after 15 s),
   * removes its folder, and stops epmd if this process started it and no node uses it any more.
   * Idempotent: later calls return the same promise.
   */
  stop(): Promise<void>;
}

/** Thrown (as a rejection) by `rabbitmqctl` when the command exits non-zero. */
export class RabbitmqctlError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'RabbitmqctlError';
  }
}

const HOST = '127.0.0.1';
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** The real start script; /usr/sbin/rabbitmq-server is a `su` wrapper that hides the pid. */
const DEBIAN_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const DIR_PREFIX = 'warren-rabbitmq-';
/** Written into every node folder so other processes can find a node by name. */
const INFO_FILE = 'broker.json';
/** The node's config file, written only when there is something to configure. */
const CONFIG_FILE = 'rabbitmq.conf';
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 15_000;
const KILL_WAIT_MS = 5_000;
const PROBE_INTERVAL_MS = 250;
const OUTPUT_LIMIT_BYTES = 64 * 1024;
const TAIL_LINES = 40;
const CTL_TIMEOUT_MS = 120_000;

// ---------------------------------------------------------------------------------------------
// AMQP probe
// ---------------------------------------------------------------------------------------------

/**
 * Checks whether something on `host:port` speaks AMQP 0-9-1: connects, sends the protocol header
 * `AMQP\x00\x00\x09\x01` and expects a method frame (first byte 0x01, i.e. connection.start).
 * Never rejects; resolves `false` on refusal, timeout, or any other answer.
 */
export function probeAmqp(port: number, host = HOST, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let settled = false;
    const finish = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once('connect', () => socket.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')));
    socket.once('data', (chunk: Buffer) => finish(chunk[0] === 0x01));
    socket.once('error', () => finish(false));
    socket.once('close', () => finish(false));
  });
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/** A user to run processes as. */
export interface RunAs {
  uid: number;
  gid: number;
}

/** Keeps the last `limit` bytes of a stream for error messages. */
class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit && this.chunks.length > 1) {
      this.size -= this.chunks.shift()?.length ?? 0;
    }
  }

  lines(count: number): string {
    return lastLines(Buffer.concat(this.chunks).toString('utf8'), count);
  }
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves `true` if `promise` settles within `ms`, `false` otherwise (without keeping a timer). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

/** Sends a signal, ignoring processes that are already gone. */
function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if (!isErrno(error, 'ESRCH')) throw error;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrno(error, 'EPERM');
  }
}

function searchPath(): string[] {
  const dirs = [...SYSTEM_PATH.split(':'), ...(process.env.PATH ?? '').split(':')];
  return [...new Set(dirs.filter((dir) => dir !== ''))];
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await fs.access(file, fs.constants.X_OK);
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

async function which(name: string): Promise<string | undefined> {
  for (const dir of searchPath()) {
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

interface Tools {
  server: string;
  ctl: string;
}

async function findServer(): Promise<string | undefined> {
  return (await isExecutable(DEBIAN_SERVER)) ? DEBIAN_SERVER : await which('rabbitmq-server');
}

/**
 * Installs Debian's rabbitmq-server, so that the README's test command works on a fresh
 * machine. Only as root and only where apt-get exists; anywhere else the caller explains.
 */
async function installRabbitmq(): Promise<void> {
  const aptGet = await which('apt-get');
  if (process.getuid?.() !== 0 || aptGet === undefined) return;
  process.stderr.write('[warren] rabbitmq-server is missing: installing it with apt-get\n');
  const env = { PATH: SYSTEM_PATH, DEBIAN_FRONTEND: 'noninteractive' };
  const timeoutMs = 15 * 60_000;
  await run(aptGet, ['update'], { env, timeoutMs });
  await run(aptGet, ['install', '-y', 'rabbitmq-server'], { env, timeoutMs });
}

/** Finds `rabbitmq-server` (installing it when root on Debian) and the `rabbitmqctl` beside it. */
async function locateTools(): Promise<Tools> {
  let server = await findServer();
  if (server === undefined) {
    await installRabbitmq();
    server = await findServer();
  }
  if (server === undefined) {
    throw new Error(
      `RabbitMQ is not installed: neither ${DEBIAN_SERVER} nor rabbitmq-server on PATH exists. ` +
        'Install it with `apt-get install -y rabbitmq-server` (or set AMQP_URL to use a running broker).',
    );
  }
  const sibling = path.join(path.dirname(server), 'rabbitmqctl');
  const ctl = (await isExecutable(sibling)) ? sibling : await which('rabbitmqctl');
  if (ctl === undefined) throw new Error(`rabbitmqctl not found next to ${server} or on PATH`);
  return { server, ctl };
}

/**
 * The user nodes run as: the `rabbitmq` user when we are root (the node must not run as root),
 * `undefined` when they run as ourselves. Files a node must read (TLS certificates and keys)
 * belong to this user.
 */
export async function resolveRunAs(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const passwd = await fs.readFile('/etc/passwd', 'utf8');
    for (const line of passwd.split('\n')) {
      const [name, , uid, gid] = line.split(':');
      if (name === 'rabbitmq' && uid !== undefined && gid !== undefined) {
        return { uid: Number(uid), gid: Number(gid) };
      }
    }
  } catch {
    // fall through to `id`
  }
  try {
    const uid = Number((await run('id', ['-u', 'rabbitmq'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'rabbitmq'])).stdout.trim());
    if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid };
  } catch {
    // no rabbitmq user: run as root, which RabbitMQ tolerates
  }
  return undefined;
}

interface RunResult {
  stdout: string;
  stderr: string;
}

/** execFile as a promise; rejects with the ExecFileException (with stdout/stderr attached). */
function run(
  file: string,
  args: readonly string[],
  options: {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    runAs?: RunAs | undefined;
    timeoutMs?: number;
  } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        env: options.env ?? { PATH: SYSTEM_PATH },
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
        ...(options.runAs ?? {}),
        timeout: options.timeoutMs ?? 30_000,
        maxBuffer: 16 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (error) reject(Object.assign(error, { stdout, stderr }));
        else resolve({ stdout, stderr });
      },
    );
  });
}

/** Distinct free TCP ports on 127.0.0.1 (held open together so they differ). */
async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      server.listen(0, HOST);
      await once(server, 'listening');
    }
    return servers.map((server) => (server.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(
      servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
  }
}

function qualifyNodeName(name: string): string {
  return name.includes('@') ? name : `${name}@localhost`;
}

// ---------------------------------------------------------------------------------------------
// Process tree
// ---------------------------------------------------------------------------------------------

/** pid -> parent pid for every process, from `ps` or, without procps, from /proc. */
function processTable(): Map<number, number> {
  const table = new Map<number, number>();
  try {
    const out = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], {
      encoding: 'utf8',
      env: { PATH: SYSTEM_PATH },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    for (const line of out.split('\n')) {
      const [pid, ppid] = line.trim().split(/\s+/).map(Number);
      if (pid !== undefined && ppid !== undefined && pid > 0) table.set(pid, ppid);
    }
    return table;
  } catch {
    // no ps: read /proc below
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may contain spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      table.set(Number(entry), ppid);
    } catch {
      // exited meanwhile
    }
  }
  return table;
}

/** All descendants of `root` (not including it), parents before children. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of processTable()) {
    const siblings = children.get(ppid);
    if (siblings) siblings.push(pid);
    else children.set(ppid, [pid]);
  }
  const found: number[] = [];
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** SIGKILLs `root` and everything below it (the tree is collected before anything dies). */
function killTree(root: number): void {
  const tree = [root, ...descendants(root)];
  for (const pid of tree) signalPid(pid, 'SIGKILL');
}

// ---------------------------------------------------------------------------------------------
// epmd bookkeeping
// ---------------------------------------------------------------------------------------------

/** Nodes started (or starting) by this process and not yet cleaned up. */
let activeNodes = 0;
/** Whether the epmd now running was started on behalf of one of our nodes. */
let epmdOwned = false;
/** Serialises epmd checks so a stop never kills epmd under a starting node. */
let epmdQueue: Promise<unknown> = Promise.resolve();

function withEpmdLock<T>(task: () => Promise<T>): Promise<T> {
  const result = epmdQueue.then(task);
  epmdQueue = result.catch(() => undefined);
  return result;
}

/** Node names registered with epmd, or `undefined` when epmd is not running. */
async function epmdNames(): Promise<string[] | undefined> {
  try {
    return parseEpmdNames((await run('epmd', ['-names'], { timeoutMs: 10_000 })).stdout);
  } catch {
    return undefined;
  }
}

function parseEpmdNames(output: string): string[] {
  return output
    .split('\n')
    .map((line) => /^name (\S+) at port/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
}

/** Before a node starts: if none of ours is running, note whether epmd is already there. */
function noteEpmdBeforeStart(): Promise<void> {
  const first = activeNodes === 0;
  activeNodes++;
  if (!first) return Promise.resolve();
  return withEpmdLock(async () => {
    if ((await epmdNames()) === undefined) epmdOwned = true;
  });
}

/** After a node is gone: stop epmd if we started it and no node at all is registered. */
function releaseEpmdAfterStop(): Promise<void> {
  activeNodes--;
  if (activeNodes > 0) return Promise.resolve();
  return withEpmdLock(async () => {
    if (!epmdOwned) return;
    // A node deregisters when its connection to epmd closes, which can trail its exit a little.
    for (let attempt = 0; attempt < 10; attempt++) {
      const names = await epmdNames();
      if (names === undefined) {
        epmdOwned = false;
        return;
      }
      if (names.length === 0) break;
      if (attempt === 9) return; // someone else's node uses it: leave it running
      await sleep(200);
    }
    if (activeNodes > 0) return; // a new node started meanwhile
    await run('epmd', ['-kill'], { timeoutMs: 10_000 }).catch(() => undefined);
    epmdOwned = false;
  });
}

function releaseEpmdSync(): void {
  if (!epmdOwned) return;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let attempt = 0; attempt < 10; attempt++) {
    let names: string[];
    try {
      const out = execFileSync('epmd', ['-names'], {
        encoding: 'utf8',
        env: { PATH: SYSTEM_PATH },
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 5_000,
      });
      names = parseEpmdNames(out);
    } catch {
      epmdOwned = false;
      return;
    }
    if (names.length === 0) {
      try {
        execFileSync('epmd', ['-kill'], {
          env: { PATH: SYSTEM_PATH },
          stdio: 'ignore',
          timeout: 5_000,
        });
      } catch {
        // nothing more we can do while exiting
      }
      epmdOwned = false;
      return;
    }
    Atomics.wait(pause, 0, 0, 50);
  }
}

// ---------------------------------------------------------------------------------------------
// Node lifecycle
// ---------------------------------------------------------------------------------------------

interface NodeProcess {
  readonly nodeName: string;
  readonly dir: string;
  readonly child: ChildProcess;
  /** Pid of the start script, set once it has spawned. */
  pid: number;
  readonly exited: Promise<void>;
  exitStatus: string | undefined;
  /** Descendants seen once the node was up, killed too if they outlive the script. */
  knownDescendants: number[];
}

/** Nodes whose process or folder may still exist; cleaned up synchronously on exit. */
const liveNodes = new Set<NodeProcess>();
let exitHooksInstalled = false;
let nodeCounter = 0;

function killAllSync(): void {
  for (const node of liveNodes) {
    liveNodes.delete(node);
    try {
      if (node.exitStatus === undefined) killTree(node.pid);
      for (const pid of node.knownDescendants) signalPid(pid, 'SIGKILL');
    } catch {
      // keep going: the folder and the other nodes still need cleaning
    }
    rmSync(node.dir, { recursive: true, force: true });
  }
  releaseEpmdSync();
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAllSync();
      process.off(signal, onSignal);
      // If nobody else handles the signal (vitest does, and exits), die of it as we would have.
      setTimeout(() => {
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      }, 100).unref();
    };
    process.on(signal, onSignal);
  }
}

/** Stops the node process (gracefully if possible) and waits for it to exit. */
async function terminateProcess(node: NodeProcess): Promise<void> {
  if (node.exitStatus === undefined) {
    signalPid(node.pid, 'SIGTERM');
    if (!(await settlesWithin(node.exited, STOP_GRACE_MS))) {
      killTree(node.pid);
      await settlesWithin(node.exited, KILL_WAIT_MS);
    }
  }
  // Normally the script waits for the VM; this catches a VM orphaned by a script that died.
  for (const pid of node.knownDescendants) {
    if (isAlive(pid)) signalPid(pid, 'SIGKILL');
  }
  // epmd may have inherited our pipes; do not let them keep this process alive.
  node.child.stdout?.destroy();
  node.child.stderr?.destroy();
}

async function removeNode(node: NodeProcess): Promise<void> {
  await terminateProcess(node);
  await fs.rm(node.dir, { recursive: true, force: true });
  liveNodes.delete(node);
}

async function logFileTails(dir: string): Promise<string[]> {
  const logDir = path.join(dir, 'log');
  const sections: string[] = [];
  try {
    for (const file of (await fs.readdir(logDir)).sort()) {
      if (!file.endsWith('.log')) continue;
      const text = await fs.readFile(path.join(logDir, file), 'utf8');
      if (text.trim() !== '') {
        sections.push(`--- ${path.join(logDir, file)} (last ${TAIL_LINES} lines) ---`);
        sections.push(lastLines(text, TAIL_LINES));
      }
    }
  } catch {
    // no logs yet
  }
  return sections;
}

function nodeEnvironment(
  dir: string,
  nodeName: string,
  amqpPort: number,
  distPort: number,
  extraEnv: Record<string, string>,
): Record<string, string> {
  return {
    PATH: searchPath().join(':'),
    HOME: path.join(dir, 'home'),
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_IP_ADDRESS: HOST,
    RABBITMQ_NODE_PORT: String(amqpPort),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    ...extraEnv,
  };
}

interface BrokerInfo {
  nodeName: string;
  amqpPort: number;
  distPort: number;
  env: Record<string, string>;
}

/** `rabbitmq.conf` lines (new-style, sysctl format) for a TLS listener; see {@link BrokerTlsOptions}. */
function tlsConfig(port: number, tls: BrokerTlsOptions): string[] {
  return [
    `listeners.ssl.default = ${HOST}:${port}`,
    `ssl_options.cacertfile = ${tls.caFile}`,
    `ssl_options.certfile = ${tls.certFile}`,
    `ssl_options.keyfile = ${tls.keyFile}`,
    `ssl_options.verify = ${tls.verifyPeer === true ? 'verify_peer' : 'verify_none'}`,
    `ssl_options.fail_if_no_peer_cert = ${tls.verifyPeer === true}`,
  ];
}

/** The node's `rabbitmq.conf`, or `undefined` when there is nothing to configure. */
function nodeConfig(tlsPort: number | undefined, options: StartBrokerOptions): string | undefined {
  const lines = [
    ...(options.tls === undefined ? [] : tlsConfig(tlsPort ?? 0, options.tls)),
    ...(options.extraConfig ?? []),
  ];
  return lines.length === 0 ? undefined : `${lines.join('\n')}\n`;
}

/** The `enabled_plugins` file: an Erlang list of plugin names. @throws TypeError for a bad name. */
function enabledPlugins(plugins: readonly string[]): string {
  for (const plugin of plugins) {
    if (!/^[a-z][a-z0-9_]*$/.test(plugin)) throw new TypeError(`not a plugin name: '${plugin}'`);
  }
  return `[${plugins.join(',')}].\n`;
}

async function prepareFolder(
  dir: string,
  info: BrokerInfo,
  runAs: RunAs | undefined,
  config: string | undefined,
  erlangCookie: string | undefined,
  plugins: string,
) {
  const created = [dir];
  for (const sub of ['mnesia', 'log', 'home']) {
    await fs.mkdir(path.join(dir, sub));
    created.push(path.join(dir, sub));
  }
  if (erlangCookie !== undefined) {
    // Erlang refuses a cookie file that others can read.
    const cookieFile = path.join(dir, 'home', '.erlang.cookie');
    await fs.writeFile(cookieFile, erlangCookie, { mode: 0o400 });
    created.push(cookieFile);
  }
  await fs.writeFile(path.join(dir, 'enabled_plugins'), plugins);
  if (config !== undefined) {
    await fs.writeFile(path.join(dir, CONFIG_FILE), config);
    created.push(path.join(dir, CONFIG_FILE));
  }
  await fs.writeFile(path.join(dir, INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
  created.push(path.join(dir, 'enabled_plugins'), path.join(dir, INFO_FILE));
  if (runAs) {
    for (const file of created) await fs.chown(file, runAs.uid, runAs.gid);
  }
}

function ctlRunner(
  ctl: string,
  dir: string,
  info: BrokerInfo,
  runAs: RunAs | undefined,
): (...args: string[]) => Promise<string> {
  return async (...args) => {
    try {
      const { stdout } = await run(ctl, ['-n', info.nodeName, ...args], {
        env: info.env,
        cwd: dir,
        runAs,
        timeoutMs: CTL_TIMEOUT_MS,
      });
      return stdout;
    } catch (error) {
      const failure = error as NodeJS.ErrnoException & Partial<RunResult> & { code?: unknown };
      const stderr = failure.stderr ?? '';
      const stdout = failure.stdout ?? '';
      const exitCode = typeof failure.code === 'number' ? failure.code : null;
      const detail = stderr.trim() || stdout.trim() || failure.message;
      throw new RabbitmqctlError(
        `rabbitmqctl -n ${info.nodeName} ${args.join(' ')} failed (exit ${exitCode ?? 'signal'}): ${detail}`,
        exitCode,
        stdout,
        stderr,
      );
    }
  };
}

/**
 * Starts a throwaway RabbitMQ node and resolves once it accepts AMQP connections.
 *
 * Rejects (after cleaning up) if RabbitMQ is not installed, if the node exits early, or if it does
 * not answer the AMQP protocol header within 60 s; the error includes the tail of the node's
 * console output and log file. A typical start takes about 4 s.
 *
 * @example
 * const broker = await startBroker();
 * try {
 *   await broker.rabbitmqctl('list_queues');
 * } finally {
 *   await broker.stop();
 * }
 */
export async function startBroker(options: StartBrokerOptions = {}): Promise<Broker> {
  const tools = await locateTools();
  const runAs = await resolveRunAs();
  const nodeName = qualifyNodeName(
    options.nodeName ?? `warren-${process.pid}-${++nodeCounter}-${randomBytes(3).toString('hex')}`,
  );
  const free = (await freePorts(4)).filter(
    (port) => port !== options.amqpPort && port !== options.distPort && port !== options.tls?.port,
  );
  const amqpPort = options.amqpPort ?? free.shift() ?? 0;
  const distPort = options.distPort ?? free.shift() ?? 0;
  const tlsPort = options.tls === undefined ? undefined : (options.tls.port ?? free.shift() ?? 0);
  const timeoutMs = options.startTimeoutMs ?? START_TIMEOUT_MS;
  const plugins = enabledPlugins(options.plugins ?? []);

  installExitHooks();
  await noteEpmdBeforeStart();
  let dir: string;
  try {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), DIR_PREFIX));
  } catch (error) {
    await releaseEpmdAfterStop();
    throw error;
  }
  const config = nodeConfig(tlsPort, options);
  const configEnv =
    config === undefined ? {} : { RABBITMQ_CONFIG_FILE: path.join(dir, CONFIG_FILE) };
  const env = nodeEnvironment(dir, nodeName, amqpPort, distPort, {
    ...configEnv,
    ...options.extraEnv,
  });
  const info: BrokerInfo = { nodeName, amqpPort, distPort, env };

  let output = new OutputTail(OUTPUT_LIMIT_BYTES);
  let node: NodeProcess;
  try {
    await prepareFolder(dir, info, runAs, config, options.erlangCookie, plugins);
    node = await spawnNode(tools.server, info, dir, runAs, output);
  } catch (error) {
    await fs.rm(dir, { recursive: true, force: true });
    await releaseEpmdAfterStop();
    throw new Error(`could not start ${tools.server}: ${(error as Error).message}`, {
      cause: error,
    });
  }

  const failure = async (reason: string): Promise<Error> => {
    const consoleTail = output.lines(TAIL_LINES);
    await terminateProcess(node);
    const logs = await logFileTails(dir);
    const sections = [
      `RabbitMQ node ${nodeName} (${tools.server}, AMQP port ${amqpPort}, dist port ${distPort}` +
        `${tlsPort === undefined ? '' : `, TLS port ${tlsPort}`}) ${reason}.`,
      `--- console output (last ${TAIL_LINES} lines) ---`,
      consoleTail || '(none)',
      ...logs,
    ];
    return new Error(sections.join('\n'));
  };

  const failed = await awaitAmqp(node, amqpPort, timeoutMs);
  if (failed !== undefined) {
    const error = await failure(failed);
    await removeNode(node);
    await releaseEpmdAfterStop();
    throw error;
  }

  let stopping: Promise<void> | undefined;
  let restarting: Promise<void> | undefined;
  return {
    url: `amqp://guest:guest@${HOST}:${amqpPort}/`,
    nodeName,
    amqpPort,
    distPort,
    tlsPort,
    get pid() {
      return node.pid;
    },
    dir,
    rabbitmqctl: ctlRunner(tools.ctl, dir, info, runAs),
    async kill() {
      if (node.exitStatus === undefined) {
        killTree(node.pid);
        await settlesWithin(node.exited, KILL_WAIT_MS);
      }
      for (const pid of node.knownDescendants) {
        if (isAlive(pid)) signalPid(pid, 'SIGKILL');
      }
      node.child.stdout?.destroy();
      node.child.stderr?.destroy();
    },
    restart() {
      restarting ??= (async () => {
        if (stopping !== undefined) throw new Error(`node ${nodeName} was stopped`);
        if (node.exitStatus === undefined) {
          throw new Error(`node ${nodeName} is still running: kill() it before restart()`);
        }
        output = new OutputTail(OUTPUT_LIMIT_BYTES);
        const previous = node;
        // The old process is gone; the new one takes its place (and its folder) in liveNodes.
        node = await spawnNode(tools.server, info, dir, runAs, output);
        liveNodes.delete(previous);
        const reason = await awaitAmqp(node, amqpPort, timeoutMs);
        if (reason !== undefined) throw await failure(`did not restart: ${reason}`);
      })().finally(() => {
        restarting = undefined;
      });
      return restarting;
    },
    stop() {
      // A restart under way finishes (or fails) first, so that its process is the one stopped.
      stopping ??= (restarting ?? Promise.resolve())
        .catch(() => undefined)
        .then(() => removeNode(node))
        .finally(() => releaseEpmdAfterStop());
      return stopping;
    },
  };
}

/**
 * Spawns `rabbitmq-server` for the node in `dir` and registers it in {@link liveNodes}; its
 * output goes to `output`. Rejects with the spawn error (ENOENT, EACCES, ...).
 */
async function spawnNode(
  server: string,
  info: BrokerInfo,
  dir: string,
  runAs: RunAs | undefined,
  output: OutputTail,
): Promise<NodeProcess> {
  const child = spawn(server, [], {
    cwd: dir,
    env: info.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: false,
    ...(runAs ?? {}),
  });
  // Assigned before any event can fire: child process events are always emitted later.
  const node: NodeProcess = {
    nodeName: info.nodeName,
    dir,
    child,
    pid: 0,
    exitStatus: undefined,
    knownDescendants: [],
    exited: new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        node.exitStatus = signal === null ? `exit code ${code}` : `signal ${signal}`;
        resolve();
      });
    }),
  };
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk));
  await once(child, 'spawn'); // rejects with the spawn error (ENOENT, EACCES, ...)
  child.on('error', (error) => output.push(Buffer.from(`\n[harness] ${error.message}\n`)));
  node.pid = child.pid ?? 0;
  liveNodes.add(node);
  return node;
}

/**
 * Waits until the node answers AMQP on `port`, then notes its descendants. Resolves with why
 * it did not (it exited, or the time ran out), or `undefined` once it does.
 */
async function awaitAmqp(
  node: NodeProcess,
  port: number,
  timeoutMs: number,
): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (node.exitStatus !== undefined) return `exited before accepting AMQP (${node.exitStatus})`;
    if (await probeAmqp(port, HOST, 1_000)) break;
    if (Date.now() >= deadline) {
      return `did not accept AMQP on ${HOST}:${port} within ${timeoutMs / 1000} s`;
    }
    await settlesWithin(node.exited, PROBE_INTERVAL_MS);
  }
  node.knownDescendants = descendants(node.pid);
  return undefined;
}

/**
 * Runs `rabbitmqctl` against a node that {@link startBroker} started in another process of this
 * machine, e.g. the one vitest's global setup started (`inject('brokerNode')`). The node is found
 * by name among the temporary node folders; the command runs with that node's user, HOME (Erlang
 * cookie) and environment. Rejects with a {@link RabbitmqctlError} on failure.
 */
export async function rabbitmqctlOn(nodeName: string, ...args: string[]): Promise<string> {
  const wanted = qualifyNodeName(nodeName);
  const tmp = os.tmpdir();
  for (const entry of await fs.readdir(tmp)) {
    if (!entry.startsWith(DIR_PREFIX)) continue;
    const dir = path.join(tmp, entry);
    let info: BrokerInfo;
    try {
      info = JSON.parse(await fs.readFile(path.join(dir, INFO_FILE), 'utf8')) as BrokerInfo;
    } catch {
      continue;
    }
    if (info.nodeName !== wanted) continue;
    const tools = await locateTools();
    return ctlRunner(tools.ctl, dir, info, await resolveRunAs())(...args);
  }
  throw new Error(`no node ${wanted} started by startBroker() found under ${tmp}`);
}

/** A broker to talk to, and how to let go of it. */
export interface BrokerLease {
  /** The AMQP URL to connect to. */
  readonly url: string;
  /** The node started for this lease; undefined when an existing broker is used. */
  readonly broker: Broker | undefined;
  /** How the broker was found, for a log line (never shows a password). */
  readonly description: string;
  /** Stops the node if this lease started it. */
  release(): Promise<void>;
}

/**
 * The broker that tests, the demo and benchmarks use: the one at
 * `AMQP_URL` when set, else one already answering on 127.0.0.1:5672, else a
 * throwaway node started here (and stopped by `release`).
 */
export async function findOrStartBroker(): Promise<BrokerLease> {
  const fromEnv = process.env.AMQP_URL;
  if (fromEnv !== undefined && fromEnv !== '') {
    return lease(fromEnv, undefined, `using AMQP_URL ${redactUrl(fromEnv)}`);
  }
  if (await probeAmqp(5672, HOST, 500)) {
    return lease(`amqp://guest:guest@${HOST}:5672/`, undefined, `using the broker on ${HOST}:5672`);
  }
  const began = performance.now();
  const broker = await startBroker();
  const seconds = ((performance.now() - began) / 1000).toFixed(1);
  return lease(
    broker.url,
    broker,
    `started RabbitMQ node ${broker.nodeName} at ${broker.url} in ${seconds} s`,
  );
}

function lease(url: string, broker: Broker | undefined, description: string): BrokerLease {
  return { url, broker, description, release: async () => broker?.stop() };
}
