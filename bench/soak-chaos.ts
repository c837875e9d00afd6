/**
 * The soak's chaos loop (bench/soak.ts): one fault at a time, at random intervals, against a
 * three-node cluster (spec/support/cluster.ts) whose clients all go through one TCP proxy per
 * node (spec/support/tcp-proxy.ts). The faults, drawn from a shuffled deck so that every kind
 * comes once per round:
 *
 * - `cut`: every connection through one node's proxy is closed (FIN), as a network failure;
 *   half of the time the proxy then refuses new connections for 1 to 3 s (the node is
 *   unreachable), so that the clients move to another node;
 * - `close_connection`: `rabbitmqctl close_connection` on one client connection (320 FORCED);
 * - `restart`: `rabbitmqctl stop_app`, a pause, `start_app` on one node (an application
 *   restart: 320 CONNECTION_FORCED to its clients, its listener down meanwhile);
 * - `alarm`: `set_vm_memory_high_watermark` very low on one node, a pause, then back to 0.4 (a
 *   memory alarm blocks publishing connections in the whole cluster);
 * - `kill`: SIGKILL of one node, a pause, and the node started again (a crash).
 *
 * `restart` and `kill` take down node 2 or 3, never node 1, where the classic queues live: a
 * classic queue is on one node, and taking that node away is a RabbitMQ availability question
 * (its consumers are cancelled, its publishes nacked), not the client's. Quorum queues, with a
 * member on each node and their leader on node 2, lose their leader to those faults. Like `cut`,
 * they pick among the nodes that have client connections when there are some: recovery goes
 * back to the node that worked last, so without the refusing cuts every client would settle on
 * node 1 and the node faults would hit none of them.
 *
 * After each fault the loop waits for every client connection to be open again before the
 * pause that leads to the next one; a connection that does not come back within
 * {@link RECOVERY_TIMEOUT_MS} is reported as unexpected.
 *
 * @module
 */
import type { Connection } from '../lib/index.js';
import { probeAmqp } from '../spec/support/broker.js';
import type { Cluster } from '../spec/support/cluster.js';
import { connectionPid } from '../spec/support/fault-helpers.js';
import type { TcpProxy } from '../spec/support/tcp-proxy.js';
import { describe } from './soak-publisher.js';

/** The kinds of fault the chaos loop injects. */
export const FAULT_KINDS = ['cut', 'close_connection', 'restart', 'alarm', 'kill'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** One fault injected. */
export interface ChaosEvent {
  readonly kind: FaultKind;
  /** Node index (0-2) the fault hit. */
  readonly node: number;
  /** What exactly was hit (a connection's name, how many connections were cut). */
  readonly detail: string;
  /** When it began, in ms since the soak started. */
  readonly atMs: number;
  /** From the fault's beginning until every client connection was open again, in ms. */
  readonly tookMs: number;
}

/** The nodes `restart` and `kill` may take down: not node 0, which holds the classic queues. */
const EXPENDABLE_NODES = [1, 2] as const;
const LOW_WATERMARK = '0.0000001';
const DEFAULT_WATERMARK = '0.4';
const RECOVERY_TIMEOUT_MS = 90_000;
const POLL_MS = 100;

/** A named client connection, as the chaos loop sees it. */
export interface ChaosClient {
  readonly name: string;
  readonly connection: Connection;
  /** The node (0-2) the connection is on now. */
  node(): number;
}

export interface ChaosOptions {
  readonly cluster: Cluster;
  /** One proxy per node, in node order. */
  readonly proxies: readonly TcpProxy[];
  readonly clients: readonly ChaosClient[];
  /** Mean pause between two faults, in ms; each pause is drawn from [0.5, 1.5] × this. */
  readonly intervalMs: number;
  /** Random numbers in [0, 1), seeded by the caller. */
  readonly random: () => number;
  /** ms since the soak started. */
  readonly clock: () => number;
  readonly log: (line: string) => void;
  readonly unexpected: (what: string) => void;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Injects faults until stopped; {@link Chaos.stop} waits for the fault under way. */
export class Chaos {
  readonly events: ChaosEvent[] = [];
  readonly #options: ChaosOptions;
  #deck: FaultKind[] = [];
  #stopRequested = false;
  #wake: (() => void) | undefined;
  #running: Promise<void> | undefined;

  constructor(options: ChaosOptions) {
    this.#options = options;
  }

  /** Whether every kind of fault was injected at least once. */
  get roundDone(): boolean {
    return FAULT_KINDS.every((kind) => this.events.some((event) => event.kind === kind));
  }

  /** Faults injected, by kind. */
  counts(): Record<FaultKind, number> {
    const counts = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<
      FaultKind,
      number
    >;
    for (const event of this.events) counts[event.kind]++;
    return counts;
  }

  start(): void {
    this.#running ??= this.#loop();
  }

  /** Injects no more faults; resolves once the one under way (if any) is over. */
  async stop(): Promise<void> {
    this.#stopRequested = true;
    this.#wake?.();
    await this.#running;
  }

  async #loop(): Promise<void> {
    while (!this.#stopRequested) {
      await this.#pause();
      if (this.#stopRequested) return;
      const kind = this.#draw();
      const atMs = this.#options.clock();
      try {
        const { node, detail } = await this.#inject(kind);
        await this.#allOpen(kind);
        const event: ChaosEvent = {
          kind,
          node,
          detail,
          atMs,
          tookMs: this.#options.clock() - atMs,
        };
        this.events.push(event);
        this.#options.log(
          `chaos: ${kind} on node ${node + 1} (${detail}), all open again after ${(event.tookMs / 1000).toFixed(1)} s`,
        );
      } catch (error) {
        this.#options.unexpected(`chaos ${kind} failed: ${describe(error)}`);
      }
    }
  }

  /** A random pause, cut short by {@link Chaos.stop}. */
  async #pause(): Promise<void> {
    const ms = this.#options.intervalMs * (0.5 + this.#options.random());
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = undefined;
  }

  #draw(): FaultKind {
    if (this.#deck.length === 0) {
      const deck = [...FAULT_KINDS];
      for (let i = deck.length - 1; i > 0; i--) {
        const j = Math.floor(this.#options.random() * (i + 1));
        [deck[i], deck[j]] = [deck[j] as FaultKind, deck[i] as FaultKind];
      }
      this.#deck = deck;
    }
    return this.#deck.pop() as FaultKind;
  }

  #pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#options.random() * items.length)] as T;
  }

  /** A pause while a node is down or alarmed: 1 to 3 s. */
  #hold(): Promise<void> {
    return sleep(1_000 + 2_000 * this.#options.random());
  }

  async #inject(kind: FaultKind): Promise<{ node: number; detail: string }> {
    const { cluster, proxies, clients } = this.#options;
    switch (kind) {
      case 'cut': {
        const node = this.#pick(this.#busy([0, 1, 2]));
        const proxy = proxies[node] as TcpProxy;
        const open = proxy.open;
        if (this.#options.random() < 0.5) {
          proxy.cut();
          return { node, detail: `${open} connections cut` };
        }
        const began = Date.now();
        proxy.refuse(true);
        proxy.cut();
        try {
          await this.#hold();
        } finally {
          proxy.refuse(false);
        }
        const refused = ((Date.now() - began) / 1000).toFixed(1);
        return { node, detail: `${open} connections cut, new ones refused for ${refused} s` };
      }
      case 'close_connection': {
        const client = this.#pick(clients);
        const node = client.node();
        const broker = cluster.nodes[node];
        if (broker === undefined) throw new Error(`no node ${node + 1}`);
        const pid = await connectionPid(broker, client.name);
        await broker.rabbitmqctl('close_connection', pid, 'soak chaos');
        return { node, detail: client.name };
      }
      case 'restart': {
        const node = this.#pick(this.#busy(EXPENDABLE_NODES));
        const broker = cluster.nodes[node];
        if (broker === undefined) throw new Error(`no node ${node + 1}`);
        const open = proxies[node]?.open ?? 0;
        await broker.rabbitmqctl('stop_app');
        try {
          await this.#hold();
        } finally {
          await broker.rabbitmqctl('start_app');
        }
        await this.#amqpBack(node);
        return { node, detail: `stop_app, start_app; ${open} connections on it` };
      }
      case 'alarm': {
        const node = this.#pick([0, 1, 2]);
        const broker = cluster.nodes[node];
        if (broker === undefined) throw new Error(`no node ${node + 1}`);
        await broker.rabbitmqctl('set_vm_memory_high_watermark', LOW_WATERMARK);
        try {
          await this.#hold();
        } finally {
          await broker.rabbitmqctl('set_vm_memory_high_watermark', DEFAULT_WATERMARK);
        }
        return { node, detail: `watermark ${LOW_WATERMARK}, then ${DEFAULT_WATERMARK}` };
      }
      case 'kill': {
        const node = this.#pick(this.#busy(EXPENDABLE_NODES));
        const open = proxies[node]?.open ?? 0;
        await cluster.kill(node);
        try {
          await this.#hold();
        } finally {
          await cluster.restart(node);
        }
        return { node, detail: `SIGKILL, started again; ${open} connections on it` };
      }
    }
  }

  /** The nodes among `nodes` that have client connections; all of `nodes` when none has. */
  #busy(nodes: readonly number[]): readonly number[] {
    const busy = nodes.filter((node) => (this.#options.proxies[node]?.open ?? 0) > 0);
    return busy.length > 0 ? busy : nodes;
  }

  /** Resolves once node `node` accepts AMQP again. */
  async #amqpBack(node: number): Promise<void> {
    const broker = this.#options.cluster.nodes[node];
    if (broker === undefined) return;
    const deadline = Date.now() + RECOVERY_TIMEOUT_MS;
    while (!(await probeAmqp(broker.amqpPort))) {
      if (Date.now() > deadline) throw new Error(`node ${node + 1} did not accept AMQP again`);
      await sleep(POLL_MS);
    }
  }

  /** Resolves once every client connection is open; reports the ones that are not in time. */
  async #allOpen(kind: FaultKind): Promise<void> {
    const deadline = Date.now() + RECOVERY_TIMEOUT_MS;
    const { clients } = this.#options;
    // A cut or a close is noticed asynchronously: give the clients a moment to see it.
    await sleep(200);
    while (clients.some(({ connection }) => !connection.isOpen)) {
      if (Date.now() > deadline) {
        const down = clients.filter(({ connection }) => !connection.isOpen).map(({ name }) => name);
        this.#options.unexpected(
          `after ${kind}: ${down.join(', ')} not open again within ${RECOVERY_TIMEOUT_MS / 1000} s`,
        );
        return;
      }
      await sleep(POLL_MS);
    }
  }
}
