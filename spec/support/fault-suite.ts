/**
 * The frame the fault tests in spec/faults share, so that each file holds only its scenarios.
 *
 * - {@link useFaultSuite}, called once at the top of every fault test file: each test fails when
 *   the process saw an unhandled rejection or an uncaught exception while it ran (and, unless
 *   told otherwise, a warren warning: a process warning whose code starts with `WARREN_`), and
 *   what a test hands to `later` is undone after it, last first.
 * - {@link useProxiedBroker}, for files that put a {@link TcpProxy} between warren and a broker:
 *   proxies and connections through them that are closed after each test, and a connection
 *   straight to the broker, the test's view of it, open for the whole file.
 * - {@link nextEvent} and {@link nextRecovery}: a connection's next event, with a deadline.
 *
 * @example
 * const { later } = useFaultSuite();
 * const broker = useProxiedBroker(inject('amqpUrl'), later);
 *
 * it('recovers after a cut', async () => {
 *   const { proxy, connection } = await broker.throughProxy();
 *   const recovered = nextRecovery(connection);
 *   proxy.cut();
 *   await recovered;
 * });
 *
 * @module
 */
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import {
  type Channel,
  type ConnectCallOptions,
  type Connection,
  type ConnectionEvents,
  connect,
  type ReconnectAttempt,
} from '../../lib/index.js';
import { deleteIfExists } from './amqp-helpers.js';
import { sleep, within } from './fault-helpers.js';
import { TcpProxy } from './tcp-proxy.js';

// ------------------------------------------------------------------------------------------------
// The process watch and the cleanups
// ------------------------------------------------------------------------------------------------

/** Something to undo after the current test: close a connection, delete a queue, restore a setting. */
export type Cleanup = () => unknown;

/** Registers a {@link Cleanup} to run after the current test. */
export type Later = (cleanup: Cleanup) => void;

/** Options for {@link useFaultSuite}. */
export interface FaultSuiteOptions {
  /**
   * Whether a warren warning (a process warning whose code starts with `WARREN_`, such as
   * `WARREN_UNHANDLED_RETURN`) fails the test, like an unhandled rejection does. Default `true`.
   */
  readonly failOnWarrenWarnings?: boolean;
}

/** What {@link useFaultSuite} hands a test file. */
export interface FaultSuite {
  /**
   * Runs `cleanup` after the current test, whether it passed or not. Cleanups run one at a time,
   * the last registered first (so a channel goes before its connection, a connection before its
   * proxy); one that fails is ignored, and the others still run.
   */
  readonly later: Later;
}

/**
 * Registers, for every test of the calling file, the process watch and the cleanups: before each
 * test, listeners for `unhandledRejection`, `uncaughtException` and `warning`; after it, the
 * cleanups (see {@link FaultSuite.later}), a short pause so that a rejection a cleanup left
 * unhandled is reported, and then a failure if anything was seen. Call it once, at the top level
 * of the file.
 */
export function useFaultSuite(options: FaultSuiteOptions = {}): FaultSuite {
  const failOnWarrenWarnings = options.failOnWarrenWarnings ?? true;
  const cleanups: Cleanup[] = [];
  /** Unhandled rejections and uncaught exceptions seen during the current test. */
  const processFaults: string[] = [];
  /** The messages of the warren warnings seen during the current test. */
  const warrenWarnings: string[] = [];

  const onRejection = (reason: unknown): void => {
    processFaults.push(`unhandledRejection: ${inspect(reason)}`);
  };
  const onException = (error: unknown): void => {
    processFaults.push(`uncaughtException: ${inspect(error)}`);
  };
  const onWarning = (warning: Error): void => {
    if (String((warning as { code?: unknown }).code).startsWith('WARREN_')) {
      warrenWarnings.push(warning.message);
    }
  };

  beforeEach(() => {
    processFaults.length = 0;
    warrenWarnings.length = 0;
    process.on('unhandledRejection', onRejection);
    process.on('uncaughtException', onException);
    if (failOnWarrenWarnings) process.on('warning', onWarning);
  });

  afterEach(async () => {
    try {
      for (const cleanup of cleanups.splice(0).reverse()) {
        try {
          await cleanup();
        } catch {
          // Gone already, or broken by the test: the next cleanup still runs.
        }
      }
      // A rejection nobody handled is reported once the microtask queue has drained.
      await sleep(50);
    } finally {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
      process.off('warning', onWarning);
    }
    expect(processFaults, 'unhandled rejections and uncaught exceptions').toEqual([]);
    expect(warrenWarnings, 'warren warnings').toEqual([]);
  });

  return {
    later: (cleanup) => {
      cleanups.push(cleanup);
    },
  };
}

// ------------------------------------------------------------------------------------------------
// A broker behind proxies, and a direct connection to it
// ------------------------------------------------------------------------------------------------

/**
 * Arguments for a queue that is not exclusive: it goes away by itself a minute after its last
 * use, should a test fail before its cleanup deletes it.
 */
export const EXPIRES = { 'x-expires': 60_000 };

/** Recovery quick enough that a test spends its time on the fault, not on backoff. */
const QUICK_RECOVERY = { initialDelay: 50, maxDelay: 500 } as const;

/** What {@link useProxiedBroker} hands a test file. Everything it makes is undone after each test. */
export interface ProxiedBroker {
  /** The broker's AMQP URL. */
  readonly url: string;
  /**
   * A connection straight to the broker, not through any proxy, without recovery: the test's
   * view of the broker. Open from the file's `beforeAll` to its `afterAll`.
   */
  readonly direct: Connection;
  /** A new proxy to the broker, closed after the test. */
  newProxy(): Promise<TcpProxy>;
  /**
   * Connects through `proxy`, closed after the test. Recovery is quick (initialDelay 50 ms,
   * maxDelay 500 ms) unless `options.recovery` is `false` or sets those itself; its other
   * fields are added to these.
   */
  connectThrough(proxy: TcpProxy, options?: ConnectCallOptions): Promise<Connection>;
  /** A new proxy and a connection through it ({@link ProxiedBroker.connectThrough}), both closed after the test. */
  throughProxy(options?: ConnectCallOptions): Promise<{ proxy: TcpProxy; connection: Connection }>;
  /** A channel of the direct connection (with confirms when asked), closed after the test. */
  directChannel(confirm?: boolean): Promise<Channel>;
  /** Deletes a queue or an exchange after the test, over the direct connection; gone already is fine. */
  deleteLater(kind: 'queue' | 'exchange', name: string): void;
}

/**
 * For a file whose tests reach the broker at `url` through proxies of their own: opens the direct
 * connection before the file's tests and closes it after them, and makes proxies, connections
 * and channels whose cleanups go to `later` (from {@link useFaultSuite}). Call it once, at the
 * top level of the file.
 */
export function useProxiedBroker(url: string, later: Later): ProxiedBroker {
  let direct: Connection | undefined;

  beforeAll(async () => {
    direct = await connect(url, { recovery: false });
  });

  afterAll(async () => {
    await direct?.close();
  });

  const directConnection = (): Connection => {
    if (direct === undefined) {
      throw new Error('useProxiedBroker: the direct connection is not open');
    }
    return direct;
  };

  const newProxy = async (): Promise<TcpProxy> => {
    const proxy = await TcpProxy.for(url);
    later(() => proxy.close());
    return proxy;
  };

  const connectThrough = async (
    proxy: TcpProxy,
    options: ConnectCallOptions = {},
  ): Promise<Connection> => {
    const { recovery } = options;
    const connection = await connect(proxy.url(url), {
      ...options,
      recovery: recovery === false ? false : { ...QUICK_RECOVERY, ...recovery },
    });
    later(() => connection.close());
    return connection;
  };

  return {
    url,
    get direct() {
      return directConnection();
    },
    newProxy,
    connectThrough,
    async throughProxy(options = {}) {
      const proxy = await newProxy();
      const connection = await connectThrough(proxy, options);
      return { proxy, connection };
    },
    async directChannel(confirm = false) {
      const channel = await directConnection().openChannel({ confirm });
      later(async () => {
        if (channel.isOpen) await channel.close();
      });
      return channel;
    },
    deleteLater(kind, name) {
      later(() => deleteIfExists(directConnection(), kind, name));
    },
  };
}

// ------------------------------------------------------------------------------------------------
// A connection's next event
// ------------------------------------------------------------------------------------------------

/** Resolves with the arguments of `connection`'s next `name` event; fails after `ms` rather than hang. */
export function nextEvent<K extends keyof ConnectionEvents>(
  connection: Connection,
  name: K,
  ms = 15_000,
): Promise<ConnectionEvents[K]> {
  const happened = new Promise<ConnectionEvents[K]>((resolve) => {
    connection.once(name, ((...args: ConnectionEvents[K]) => resolve(args)) as never);
  });
  return within(happened, ms, `the connection's '${name}' event`);
}

/** Resolves with `connection`'s next `recovered` event (within 15 s). */
export function nextRecovery(connection: Connection): Promise<ReconnectAttempt> {
  return nextEvent(connection, 'recovered').then(([attempt]) => attempt);
}
