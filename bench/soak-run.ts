/**
 * The soak itself (`runSoak`), for bench/soak.ts and spec/faults/soak.spec.ts: a publisher with
 * confirms and three consumers (manual, auto, iterator) on a classic and a quorum queue of a
 * three-node cluster, every client behind a TCP proxy per node, while the chaos loop
 * (bench/soak-chaos.ts) injects faults. Then it stops the chaos, lets the publishers finish what
 * they started, waits for every confirmed id to arrive, and says what happened.
 *
 * Clients use warren's public API only (lib/index.ts); the cluster, the proxies and the faults
 * come from spec/support.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { type Connection, connect, type RecoveryOptions } from '../lib/index.js';
import { type Cluster, startCluster } from '../spec/support/cluster.js';
import { TcpProxy } from '../spec/support/tcp-proxy.js';
import { Chaos, type ChaosClient, type ChaosEvent, type FaultKind } from './soak-chaos.js';
import { CONSUMER_KINDS, type ConsumerSummary, SoakConsumer } from './soak-consumers.js';
import { Ledger, type LedgerSummary } from './soak-ledger.js';
import { type MemorySample, MemorySampler, type MemorySummary } from './soak-memory.js';
import { describe, Publisher, type PublisherSummary } from './soak-publisher.js';

/** The queues the soak runs on. */
export const QUEUE_KINDS = ['classic', 'quorum'] as const;
export type QueueKind = (typeof QUEUE_KINDS)[number];

const QUEUE_ARGUMENTS: Record<QueueKind, Record<string, string>> = {
  classic: {},
  quorum: { 'x-queue-type': 'quorum' },
};
/**
 * The node each queue is declared on: the classic queue lives on node 1, which `restart` and
 * `kill` spare; the quorum queue's leader starts on node 2, which they may take down.
 */
const HOME_NODE: Record<QueueKind, number> = { classic: 0, quorum: 1 };
/** Every client connection, and the node it starts on (it may move to any other). */
const CLIENTS = [
  { name: 'publisher', node: 0 },
  { name: 'manual', node: 1 },
  { name: 'auto', node: 2 },
  { name: 'iterator', node: 0 },
] as const;

const RECOVERY: RecoveryOptions = { initialDelay: 100, maxDelay: 1_000, waitTimeout: 60_000 };
const PUBLISH_WINDOW = 200;
/** How long past the duration the chaos may go on to inject every kind of fault once. */
const ROUND_GRACE_MS = 300_000;
/** How long the publishers may take to get their last publishes confirmed after the chaos. */
const DRAIN_TIMEOUT_MS = 120_000;
/** How long every confirmed id may take to arrive after that. */
const ARRIVAL_TIMEOUT_MS = 60_000;

export interface SoakOptions {
  /** How long the chaos goes on, in ms (longer if a round of every fault takes longer). */
  readonly durationMs: number;
  /** Messages per second to each queue. */
  readonly rate: number;
  /** Mean pause between two faults, in ms. */
  readonly chaosIntervalMs: number;
  /** Seed of the chaos loop's choices; the same seed makes the same choices. */
  readonly seed: number;
  /** Memory sample interval, in ms. @default 1000 */
  readonly sampleMs?: number;
  /** A running three-node cluster to use; else one is started and stopped here. */
  readonly cluster?: Cluster;
  /** Progress lines. @default nothing */
  readonly log?: (line: string) => void;
}

/** One client connection's recoveries. */
export interface ConnectionSummary {
  readonly name: string;
  /** `disconnected` events, by the error's code. */
  readonly losses: Readonly<Record<string, number>>;
  readonly lossCount: number;
  readonly recoveries: number;
  readonly reconnectAttempts: number;
  /** Times the broker blocked it (`blocked` events: memory alarms). */
  readonly blocked: number;
  /** `recoveryFailure` events. */
  readonly recoveryFailures: readonly string[];
  /** Whether it was open when the soak ended (before closing it). */
  readonly openAtEnd: boolean;
}

/** Everything the soak measured. */
export interface SoakResult {
  readonly seed: number;
  readonly rate: number;
  readonly chaosIntervalMs: number;
  /** How long the chaos went on, in ms. */
  readonly chaosMs: number;
  /** From the first publish until the last confirmed id arrived (or the wait gave up), in ms. */
  readonly totalMs: number;
  readonly clusterStartMs: number | undefined;
  readonly queues: Readonly<Record<QueueKind, LedgerSummary & PublisherSummary>>;
  readonly totals: {
    readonly confirmed: number;
    readonly received: number;
    readonly lost: number;
    readonly duplicates: number;
  };
  readonly consumers: readonly ConsumerSummary[];
  readonly connections: readonly ConnectionSummary[];
  readonly memory: MemorySummary;
  /** Every memory sample, oldest first. */
  readonly memoryTimeline: readonly MemorySample[];
  readonly chaos: {
    readonly counts: Readonly<Record<FaultKind, number>>;
    readonly events: readonly ChaosEvent[];
  };
  /** Everything unexpected, in order: empty is the promise. */
  readonly unexpected: readonly string[];
  /** Process warnings seen (such as `WARREN_…`), reported but not failing the run. */
  readonly warnings: readonly string[];
  /** No loss, nothing unexpected, every connection recovered from every loss. */
  readonly ok: boolean;
}

/** A deterministic generator of numbers in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A client connection and what it went through. */
class TrackedConnection implements ChaosClient {
  readonly losses: Record<string, number> = {};
  lossCount = 0;
  recoveries = 0;
  reconnectAttempts = 0;
  blocked = 0;
  readonly recoveryFailures: string[] = [];
  #node: number;

  constructor(
    readonly name: string,
    readonly connection: Connection,
    node: number,
    hosts: readonly string[],
  ) {
    this.#node = node;
    connection.on('disconnected', (error) => {
      this.lossCount++;
      this.losses[error.code] = (this.losses[error.code] ?? 0) + 1;
    });
    connection.on('reconnecting', () => {
      this.reconnectAttempts++;
    });
    connection.on('recovered', ({ host }) => {
      this.recoveries++;
      this.#node = hosts.indexOf(host);
    });
    connection.on('blocked', () => {
      this.blocked++;
    });
    connection.on('recoveryFailure', ({ entity, error }) => {
      this.recoveryFailures.push(`${entity}: ${describe(error)}`);
    });
  }

  node(): number {
    return this.#node;
  }

  summary(): ConnectionSummary {
    return {
      name: this.name,
      losses: { ...this.losses },
      lossCount: this.lossCount,
      recoveries: this.recoveries,
      reconnectAttempts: this.reconnectAttempts,
      blocked: this.blocked,
      recoveryFailures: [...this.recoveryFailures],
      openAtEnd: this.connection.isOpen,
    };
  }
}

/** Polls until `done()` or the deadline; says which. */
async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/** Runs the soak; never rejects for what warren did (that goes in the result), only for setup. */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const log = options.log ?? (() => {});
  const unexpected: string[] = [];
  const warnings: string[] = [];
  const report = (what: string): void => {
    unexpected.push(what);
    log(`UNEXPECTED: ${what}`);
  };
  const onRejection = (reason: unknown): void => report(`unhandled rejection: ${describe(reason)}`);
  const onException = (error: unknown): void => report(`uncaught exception: ${describe(error)}`);
  const onWarning = (warning: Error): void => {
    warnings.push(describe(warning));
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  process.on('warning', onWarning);

  const owned = options.cluster === undefined;
  let cluster = options.cluster;
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    if (cluster === undefined) {
      log('starting a three-node cluster');
      cluster = await startCluster(3);
      log(`cluster formed in ${(cluster.startMs / 1000).toFixed(1)} s`);
    }
    const { urls } = cluster;
    const proxies = await Promise.all(urls.map((url) => TcpProxy.for(url)));
    cleanups.push(() => Promise.all(proxies.map((proxy) => proxy.close())));
    const proxied = proxies.map((proxy, node) => proxy.url(urls[node] as string));
    const hosts = proxied.map((url) => new URL(url).host);

    // The queues, each declared straight on its home node.
    const suffix = randomUUID().slice(0, 8);
    const queueNames = {
      classic: `soak.classic.${suffix}`,
      quorum: `soak.quorum.${suffix}`,
    } satisfies Record<QueueKind, string>;
    for (const kind of QUEUE_KINDS) {
      const setup = await connect(urls[HOME_NODE[kind]] as string, { recovery: false });
      const channel = await setup.openChannel();
      await channel.declareQueue(queueNames[kind], { arguments: QUEUE_ARGUMENTS[kind] });
      await setup.close();
    }
    cleanups.push(async () => {
      const setup = await connect(urls[0] as string, { recovery: false });
      const channel = await setup.openChannel();
      for (const kind of QUEUE_KINDS) {
        await channel.queue(queueNames[kind]).delete({ ifUnused: false, ifEmpty: false });
      }
      await setup.close();
    });

    // The clients, each starting on its node, able to move to any other.
    const clients: TrackedConnection[] = [];
    for (const { name, node } of CLIENTS) {
      const others = hosts.filter((_, index) => index !== node);
      const connection = await connect(proxied[node] as string, {
        hosts: others,
        recovery: RECOVERY,
        connectionName: `soak-${name}-${suffix}`,
      });
      cleanups.push(() => connection.close());
      clients.push(new TrackedConnection(`soak-${name}-${suffix}`, connection, node, hosts));
    }
    const clientNamed = (name: string): Connection =>
      (clients.find((client) => client.name === `soak-${name}-${suffix}`) as TrackedConnection)
        .connection;

    const ledgers = { classic: new Ledger(), quorum: new Ledger() } satisfies Record<
      QueueKind,
      Ledger
    >;
    const consumers: SoakConsumer[] = [];
    for (const kind of CONSUMER_KINDS) {
      for (const queue of QUEUE_KINDS) {
        consumers.push(
          await SoakConsumer.start(
            kind,
            clientNamed(kind),
            queueNames[queue],
            QUEUE_ARGUMENTS[queue],
            ledgers[queue],
            report,
          ),
        );
      }
    }

    const began = performance.now();
    const clock = (): number => Math.round(performance.now() - began);
    const memory = new MemorySampler(options.sampleMs ?? 1_000, clock);
    cleanups.push(async () => memory.stop());
    const publishers = {} as Record<QueueKind, Publisher>;
    for (const kind of QUEUE_KINDS) {
      publishers[kind] = await Publisher.start(
        clientNamed('publisher'),
        queueNames[kind],
        ledgers[kind],
        { rate: options.rate, window: PUBLISH_WINDOW, unexpected: report },
      );
      cleanups.push(async () => publishers[kind].stop());
    }
    const chaos = new Chaos({
      cluster,
      proxies,
      clients,
      intervalMs: options.chaosIntervalMs,
      random: seededRandom(options.seed),
      clock,
      log,
      unexpected: report,
    });
    chaos.start();
    cleanups.push(() => chaos.stop());

    const progress = setInterval(() => {
      const parts = QUEUE_KINDS.map(
        (kind) =>
          `${kind} ${ledgers[kind].confirmedCount} confirmed / ${ledgers[kind].receivedCount} received`,
      );
      const { rss, heapUsed } = process.memoryUsage();
      log(
        `${Math.round(clock() / 1000)} s: ${parts.join(', ')}; ${chaos.events.length} faults; ` +
          `rss ${mib(rss)} MiB, heap ${mib(heapUsed)} MiB`,
      );
    }, 10_000);
    cleanups.push(async () => clearInterval(progress));

    // The chaos goes on for the duration, and at least until every kind of fault came once.
    const roundDone = await until(
      () => clock() >= options.durationMs && chaos.roundDone,
      options.durationMs + ROUND_GRACE_MS,
    );
    if (!roundDone) {
      report(`not every kind of fault came within ${ROUND_GRACE_MS / 1000} s after the duration`);
    }
    await chaos.stop();
    const chaosMs = clock();
    log(`chaos over after ${(chaosMs / 1000).toFixed(1)} s; draining`);

    const drained = await Promise.race([
      Promise.all(QUEUE_KINDS.map((kind) => publishers[kind].drain())).then(() => true),
      sleep(DRAIN_TIMEOUT_MS).then(() => false),
    ]);
    if (!drained) {
      const pending = QUEUE_KINDS.map((kind) => `${kind} ${publishers[kind].pending}`).join(', ');
      report(
        `publishes still unconfirmed ${DRAIN_TIMEOUT_MS / 1000} s after the chaos: ${pending}`,
      );
    }
    const arrived = await until(
      () => QUEUE_KINDS.every((kind) => ledgers[kind].outstanding === 0),
      ARRIVAL_TIMEOUT_MS,
    );
    if (!arrived) log(`confirmed ids still missing after ${ARRIVAL_TIMEOUT_MS / 1000} s`);
    const totalMs = clock();
    memory.stop();
    const connections = clients.map((client) => client.summary());
    for (const consumer of consumers) await consumer.stop();

    const queues = {} as Record<QueueKind, LedgerSummary & PublisherSummary>;
    for (const kind of QUEUE_KINDS) {
      queues[kind] = { ...ledgers[kind].summary(), ...publishers[kind].summary() };
    }
    const totals = {
      confirmed: queues.classic.confirmed + queues.quorum.confirmed,
      received: queues.classic.received + queues.quorum.received,
      lost: queues.classic.lost + queues.quorum.lost,
      duplicates: queues.classic.duplicates + queues.quorum.duplicates,
    };
    const recovered = connections.every(
      (connection) =>
        connection.openAtEnd &&
        connection.recoveries === connection.lossCount &&
        connection.recoveryFailures.length === 0,
    );
    return {
      seed: options.seed,
      rate: options.rate,
      chaosIntervalMs: options.chaosIntervalMs,
      chaosMs,
      totalMs,
      clusterStartMs: owned ? cluster.startMs : undefined,
      queues,
      totals,
      consumers: consumers.map((consumer) => consumer.summary()),
      connections,
      memory: memory.summary(chaosMs),
      memoryTimeline: [...memory.samples],
      chaos: { counts: chaos.counts(), events: [...chaos.events] },
      unexpected,
      warnings,
      ok: totals.lost === 0 && unexpected.length === 0 && recovered,
    };
  } finally {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: unknown) => log(`cleanup: ${describe(error)}`));
    }
    if (owned) await cluster?.stop();
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
    process.off('warning', onWarning);
  }
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(0);
}
