/**
 * A throwaway RabbitMQ cluster for the fault tests: {@link startCluster} starts `size` nodes with
 * {@link startBroker} (one Erlang cookie for all), joins nodes 2..n to node 1 and resolves once
 * every node runs in the cluster. Tests that need it start it themselves (in `beforeAll`) and
 * stop it in `afterAll`; the global setup never does.
 *
 * On a 2-core machine a three-node cluster takes 12-15 s to form (up to 21 s seen under load):
 * the nodes start in parallel, the joins (`stop_app`, `join_cluster`, `start_app`) go one after
 * another. A killed node restarts and rejoins in about 4 s; the cluster stops in about 1 s.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { type Broker, probeAmqp, startBroker } from './broker.js';

/** A running cluster started by {@link startCluster}. */
export interface Cluster {
  /** The nodes, node 1 (the one the others joined) first. */
  readonly nodes: readonly Broker[];
  /** Each node's `amqp://guest:guest@127.0.0.1:<port>/`, in the order of {@link Cluster.nodes}. */
  readonly urls: readonly string[];
  /** How long {@link startCluster} took, in ms. */
  readonly startMs: number;
  /**
   * Crashes node `index`: SIGKILL to its start script, Erlang VM and helpers at once
   * ({@link Broker.kill}). Nothing is shut down gracefully: clients get no `connection.close`
   * (the kernel closes their sockets), quorum queue leaders on it hand nothing over, and the
   * other nodes see it go down when its distribution link drops, as after a real crash.
   * `rabbitmqctl stop` would be a maintenance shutdown instead (CONNECTION_FORCED to every
   * client, an orderly stop), a different scenario. Its folder stays for {@link Cluster.restart}.
   */
  kill(index: number): Promise<void>;
  /**
   * Starts killed node `index` again (same name, ports and data) and resolves once every node
   * that is not killed runs in the cluster again, as a node that rejoins after a crash.
   */
  restart(index: number): Promise<void>;
  /** Stops every node and removes their folders. Idempotent. */
  stop(): Promise<void>;
}

/** How long to wait for `cluster_status` to show the expected nodes running. */
const FORMATION_TIMEOUT_MS = 60_000;
const POLL_MS = 250;

let clusterCounter = 0;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The nodes `node` sees running in its cluster (`cluster_status`). */
async function runningNodes(node: Broker): Promise<string[]> {
  const status = JSON.parse(await node.rabbitmqctl('cluster_status', '--formatter', 'json')) as {
    running_nodes?: string[];
  };
  return status.running_nodes ?? [];
}

/** Resolves once `observer` sees exactly `expected` running; rejects after the timeout. */
async function awaitRunning(observer: Broker, expected: readonly string[]): Promise<void> {
  const deadline = Date.now() + FORMATION_TIMEOUT_MS;
  let seen: string[] = [];
  let lastError: unknown;
  for (;;) {
    try {
      seen = await runningNodes(observer);
      lastError = undefined;
      if (seen.length === expected.length && expected.every((name) => seen.includes(name))) return;
    } catch (error) {
      lastError = error; // the node may be between stop_app and start_app
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `cluster_status on ${observer.nodeName} did not show [${expected.join(', ')}] running within ` +
          `${FORMATION_TIMEOUT_MS / 1000} s (last seen: [${seen.join(', ')}]` +
          `${lastError === undefined ? '' : `, last error: ${String(lastError)}`})`,
      );
    }
    await sleep(POLL_MS);
  }
}

/** Resolves once the node answers AMQP again (after `start_app`). */
async function awaitAmqp(node: Broker): Promise<void> {
  const deadline = Date.now() + FORMATION_TIMEOUT_MS;
  while (!(await probeAmqp(node.amqpPort))) {
    if (Date.now() >= deadline) {
      throw new Error(`${node.nodeName} did not accept AMQP on port ${node.amqpPort} again`);
    }
    await sleep(POLL_MS);
  }
}

/**
 * Starts a cluster of `size` nodes (at least 1): all nodes at once, then nodes 2..n join node 1
 * one after another (`rabbitmqctl stop_app`, `join_cluster <node 1>`, `start_app`). Resolves once
 * `cluster_status` on node 1 shows every node running. On failure, stops what it started.
 *
 * @example
 * const cluster = await startCluster();
 * try {
 *   const connection = await connect(cluster.urls[0], { hosts: [...] });
 *   await cluster.kill(0);
 * } finally {
 *   await cluster.stop();
 * }
 */
export async function startCluster(size = 3): Promise<Cluster> {
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`a cluster needs a whole number of nodes, at least 1: got ${size}`);
  }
  const began = performance.now();
  const erlangCookie = randomBytes(20).toString('hex').toUpperCase();
  const prefix = `warren-${process.pid}-cluster${++clusterCounter}`;
  const started = await Promise.allSettled(
    Array.from({ length: size }, (_, index) =>
      startBroker({ nodeName: `${prefix}-${index + 1}`, erlangCookie }),
    ),
  );
  const nodes = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const stopAll = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  const refused = started.find((result) => result.status === 'rejected');
  if (refused !== undefined) {
    await stopAll();
    throw refused.reason;
  }

  const [first, ...others] = nodes as [Broker, ...Broker[]];
  try {
    for (const node of others) {
      await node.rabbitmqctl('stop_app');
      await node.rabbitmqctl('join_cluster', first.nodeName);
      await node.rabbitmqctl('start_app');
      await awaitAmqp(node);
    }
    await awaitRunning(
      first,
      nodes.map((node) => node.nodeName),
    );
  } catch (error) {
    await stopAll();
    throw error;
  }

  const killed = new Set<number>();
  const nodeAt = (index: number): Broker => {
    const node = nodes[index];
    if (node === undefined) throw new RangeError(`no node ${index} in a cluster of ${size}`);
    return node;
  };
  let stopping: Promise<void> | undefined;
  return {
    nodes,
    urls: nodes.map((node) => node.url),
    startMs: performance.now() - began,
    async kill(index) {
      const node = nodeAt(index);
      killed.add(index);
      await node.kill();
    },
    async restart(index) {
      const node = nodeAt(index);
      await node.restart();
      killed.delete(index);
      const alive = nodes.filter((_, i) => !killed.has(i));
      const names = alive.map((each) => each.nodeName);
      // Both sides agree: the node sees its peers, and a peer sees it.
      const peer = alive.find((each) => each !== node);
      await Promise.all([awaitRunning(node, names), peer && awaitRunning(peer, names)]);
    },
    stop() {
      stopping ??= stopAll();
      return stopping;
    },
  };
}
