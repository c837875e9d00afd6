/**
 * {@link waitUntilDrained}: wait until a worker has done its work, that is
 * until its queue holds no message, neither ready nor delivered and not yet
 * acknowledged.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortError, type Channel, type Connection, TimeoutError } from 'warren';
import { checkQueueName, connectionOf, positive } from './arguments.js';
import type { TestBroker } from './broker.js';
import type { FreshVhost } from './vhost.js';

/** Options for {@link waitUntilDrained}. */
export interface WaitUntilDrainedOptions {
  /**
   * The broker (or the fresh vhost the queue is in), to count unacknowledged messages too,
   * with `rabbitmqctl list_queues`. AMQP tells only how many messages are ready: without it, a
   * message a worker is still handling does not count, and the queue is drained as soon as
   * none is ready.
   */
  broker?: TestBroker | FreshVhost;
  /**
   * The queue's virtual host, for the `rabbitmqctl` count: the one the connection uses.
   * @defaultValue the {@link FreshVhost}'s name, else the vhost of the broker's URL (`/`)
   */
  vhost?: string;
  /**
   * How long to wait before rejecting with a `TimeoutError`, in milliseconds.
   * @defaultValue 10000
   */
  timeoutMs?: number;
  /**
   * How long to wait between two looks at the queue, in milliseconds.
   * @defaultValue 50
   */
  intervalMs?: number;
  /** Stops the wait: it rejects with an `AbortError`. */
  signal?: AbortSignal;
}

/** What {@link waitUntilDrained} saw last. */
export interface QueueDrainState {
  /** Messages ready for delivery. */
  readonly ready: number;
  /** Messages delivered and not yet acknowledged; undefined when not counted (no broker). */
  readonly unacked: number | undefined;
  /** Consumers on the queue. */
  readonly consumers: number;
}

/**
 * Resolves once queue `queueName` is drained: no message ready and, when
 * {@link WaitUntilDrainedOptions.broker} is given, none delivered and not yet acknowledged,
 * which is what "the worker is done" means. It looks at the queue every
 * {@link WaitUntilDrainedOptions.intervalMs} with a passive `queue.declare` (on a channel of
 * its own, so that a missing queue, which rejects with a `ChannelError` `NOT_FOUND`, leaves
 * the caller's channels open); once none is ready, it asks `rabbitmqctl` for the
 * unacknowledged count, when it can.
 *
 * @param target - a connection, or a channel of the connection to use
 * @param queueName - the queue to watch
 * @returns the counts it saw last
 * @throws TimeoutError when the queue is not drained within `timeoutMs` (the message holds the
 * last counts); AbortError when `signal` aborts; TypeError, RangeError for bad arguments
 */
export async function waitUntilDrained(
  target: Connection | Channel,
  queueName: string,
  options: WaitUntilDrainedOptions = {},
): Promise<QueueDrainState> {
  const connection = connectionOf(target, 'waitUntilDrained');
  checkQueueName(queueName, 'waitUntilDrained');
  const timeoutMs = positive('timeoutMs', options.timeoutMs, 10_000);
  const intervalMs = positive('intervalMs', options.intervalMs, 50);
  const { signal } = options;
  const fresh =
    options.broker !== undefined && 'broker' in options.broker ? options.broker : undefined;
  const broker = fresh?.broker ?? (options.broker as TestBroker | undefined);
  if (broker !== undefined && typeof broker.rabbitmqctl !== 'function') {
    throw new TypeError('broker must come from useBroker(), startBroker() or freshVhost()');
  }
  const vhost = options.vhost ?? fresh?.name ?? (broker === undefined ? '/' : vhostOf(broker.url));
  if (typeof vhost !== 'string') throw new TypeError('vhost must be a string');

  const deadline = performance.now() + timeoutMs;
  const channel = await connection.openChannel();
  try {
    for (;;) {
      throwIfAborted(signal, queueName);
      const state = await look(channel, queueName, broker, vhost);
      if (state.ready === 0 && (state.unacked ?? 0) === 0) return state;
      const left = deadline - performance.now();
      if (left <= 0) {
        const unacked = state.unacked === undefined ? '' : `, ${state.unacked} unacknowledged`;
        throw new TimeoutError(
          `queue '${queueName}' was not drained within ${timeoutMs} ms: last seen ${state.ready} ` +
            `ready${unacked}, ${state.consumers} consumer${state.consumers === 1 ? '' : 's'}`,
        );
      }
      await sleep(Math.min(intervalMs, left), undefined, { signal }).catch(() => undefined);
    }
  } finally {
    await channel.close().catch(() => undefined);
  }
}

/** One look at the queue: AMQP's counts, and the broker's unacknowledged count once none is ready. */
async function look(
  channel: Channel,
  queueName: string,
  broker: TestBroker | undefined,
  vhost: string,
): Promise<QueueDrainState> {
  const queue = await channel.declareQueue(queueName, { passive: true });
  const ready = queue.declared?.messageCount ?? 0;
  const consumers = queue.declared?.consumerCount ?? 0;
  if (broker === undefined || ready > 0) return { ready, unacked: undefined, consumers };
  const listing = await broker.rabbitmqctl(
    'list_queues',
    '-p',
    vhost,
    '--quiet',
    '--no-table-headers',
    'name',
    'messages_ready',
    'messages_unacknowledged',
  );
  for (const line of listing.split('\n')) {
    // The name may hold tabs: the two counts are the last two fields.
    const fields = line.split('\t');
    if (fields.length < 3 || fields.slice(0, -2).join('\t') !== queueName) continue;
    return { ready: Number(fields.at(-2)), unacked: Number(fields.at(-1)), consumers };
  }
  // Deleted between the two looks: the next passive declare says so.
  return { ready, unacked: undefined, consumers };
}

function throwIfAborted(signal: AbortSignal | undefined, queueName: string): void {
  if (signal?.aborted) {
    throw new AbortError(`the wait for queue '${queueName}' to drain was aborted`, signal.reason);
  }
}

/** The vhost an AMQP URL names: its path, decoded; `/` when it has none. */
function vhostOf(url: string): string {
  const path = new URL(url).pathname;
  return path === '' || path === '/' ? '/' : decodeURIComponent(path.slice(1));
}
