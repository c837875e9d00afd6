/**
 * Throwaway RabbitMQ nodes: {@link startBroker} starts a private node (own
 * ports, own data folder, own Erlang cookie) from the locally installed
 * `rabbitmq-server` and resolves once it speaks AMQP; {@link Broker.stop}
 * stops it and removes every trace of it. Nodes still running when the
 * process exits, or is interrupted (SIGINT, SIGTERM, SIGHUP), are killed
 * synchronously and their folders removed, so an aborted test run leaves
 * nothing behind.
 *
 * Nodes run as the `rabbitmq` user when this process is root (RabbitMQ
 * refuses a data folder it cannot write), as the current user otherwise.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Broker, StartBrokerOptions } from './broker.js';
import { noteEpmdBeforeStart, releaseEpmdAfterStop, releaseEpmdSync } from './epmd.js';
import { TestBrokerError } from './errors.js';
import { locateTools, resolveRunAs } from './install.js';
import {
  type BrokerInfo,
  CONFIG_FILE,
  enabledPlugins,
  logFileTails,
  makeNodeFolder,
  nodeConfig,
  nodeEnvironment,
  prepareFolder,
  qualifyNodeName,
  TAIL_LINES,
} from './node-folder.js';
import { probeAmqp } from './probe.js';
import {
  descendants,
  freePorts,
  HOST,
  isAlive,
  killTree,
  OutputTail,
  type RunAs,
  settlesWithin,
  signalPid,
} from './processes.js';
import { nodeRabbitmqctl } from './rabbitmqctl.js';
import { checkStartOptions } from './start-options.js';

const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 15_000;
const KILL_WAIT_MS = 5_000;
const PROBE_INTERVAL_MS = 250;
const OUTPUT_LIMIT_BYTES = 64 * 1024;

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

/**
 * Starts a throwaway RabbitMQ node and resolves once it accepts AMQP connections.
 *
 * Rejects (after cleaning up) if RabbitMQ is not installed, if the node exits early, or if it does
 * not answer the AMQP protocol header within 60 s; the error includes the tail of the node's
 * console output and log file. A typical start takes about 4 s. When a port it picked itself is
 * taken by another process before the node binds it (two test runs starting nodes at the same
 * moment), it starts again on fresh ports, up to 3 times.
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
  checkStartOptions(options);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      if (attempt >= PORT_ATTEMPTS || !lostPortRace(error, options)) throw error;
    }
  }
}

/** How many times a node is started on fresh ports when another process took one meanwhile. */
const PORT_ATTEMPTS = 3;

/**
 * @internal Whether starting a node failed because a port it picked was taken before the node
 * bound it: free ports are found by listening on port 0 and closing, so a process doing the same
 * at the same moment (a second test run) can be handed the same port. Only ports picked here:
 * ones the caller chose would be taken again.
 */
export function lostPortRace(error: unknown, options: StartBrokerOptions): boolean {
  if (!(error instanceof TestBrokerError) || error.code !== 'BROKER_START_FAILED') return false;
  if (/dist_port_already_used/.test(error.message)) return options.distPort === undefined;
  if (/eaddrinuse/i.test(error.message)) {
    return (
      options.amqpPort === undefined &&
      options.distPort === undefined &&
      (options.tls === undefined || options.tls.port === undefined)
    );
  }
  return false;
}

/** Starts one node, on ports picked now unless the options fix them. */
async function startOnce(options: StartBrokerOptions): Promise<Broker> {
  const tools = await locateTools(options.installWithApt === true);
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
    dir = await makeNodeFolder();
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
    throw new TestBrokerError(
      'BROKER_START_FAILED',
      `could not start ${tools.server}: ${(error as Error).message}`,
      { cause: error },
    );
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
    return new TestBrokerError('BROKER_START_FAILED', sections.join('\n'));
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
    source: 'started',
    description: `RabbitMQ node ${nodeName} at ${HOST}:${amqpPort}`,
    rabbitmqctl: nodeRabbitmqctl(tools.ctl, dir, info, runAs),
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
        if (stopping !== undefined) {
          throw new TestBrokerError('BROKER_STOPPED', `node ${nodeName} was stopped`);
        }
        if (node.exitStatus === undefined) {
          throw new TestBrokerError(
            'BROKER_RUNNING',
            `node ${nodeName} is still running: kill() it before restart()`,
          );
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
