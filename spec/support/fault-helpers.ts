/**
 * Small helpers for the fault tests (spec/faults, spec/integration/faults*.spec.ts): connections
 * that are closed after each test, unique names, ways to look at how a promise settled without
 * ever leaving a rejection unhandled, fake servers, and what `rabbitmqctl` says about a
 * connection. (The per-test frame of spec/faults is in fault-suite.ts.)
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import * as net from 'node:net';
import { type ConnectCallOptions, type Connection, connect } from '../../lib/index.js';
import type { Broker } from './broker.js';

/** A name no other test (or test file running at the same time) uses. */
export function uniqueName(prefix: string): string {
  return `warren.faults.${prefix}.${randomUUID()}`;
}

/** Connections opened by a test, closed by {@link ConnectionPool.closeAll} after it. */
export class ConnectionPool {
  private readonly open: Connection[] = [];

  /** Connects and remembers the connection for {@link ConnectionPool.closeAll}. */
  async connect(url: string, options?: ConnectCallOptions): Promise<Connection> {
    const connection = await connect(url, options);
    this.open.push(connection);
    return connection;
  }

  /** Closes every connection this pool opened (already closed ones resolve at once). */
  async closeAll(): Promise<void> {
    const connections = this.open.splice(0);
    await Promise.all(connections.map((connection) => connection.close()));
  }
}

/** Resolves with the reason `promise` rejects with; rejects when it fulfils instead. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, but it fulfilled');
}

/** A promise observed from the side: whether it has settled yet, and how. */
export interface Watched<T> {
  /** Whether the promise has settled (at the time of reading). */
  readonly settled: boolean;
  /** How it settled; never rejects, so nothing goes unhandled. */
  readonly result: Promise<PromiseSettledResult<T>>;
}

/** Watches `promise` (and handles its rejection, so that it never goes unhandled). */
export function watch<T>(promise: Promise<T>): Watched<T> {
  let settled = false;
  const result = promise.then(
    (value): PromiseSettledResult<T> => {
      settled = true;
      return { status: 'fulfilled', value };
    },
    (reason: unknown): PromiseSettledResult<T> => {
      settled = true;
      return { status: 'rejected', reason };
    },
  );
  return {
    get settled() {
      return settled;
    },
    result,
  };
}

/** The reason a watched promise rejected with; throws when it fulfilled. */
export async function rejectionReason<T>(watched: Watched<T>): Promise<unknown> {
  const result = await watched.result;
  if (result.status === 'fulfilled') {
    throw new Error(`expected a rejection, but it fulfilled with ${String(result.value)}`);
  }
  return result.reason;
}

/**
 * Resolves with `promise`'s value, or rejects with "`what` did not happen within `ms` ms": a
 * generous bound that turns a hang into a clear failure, never a timing assertion.
 */
export async function within<T>(
  promise: Promise<T>,
  ms: number,
  what: string | (() => string),
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const described = typeof what === 'string' ? what : what();
      reject(new Error(`${described} did not happen within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One connection a {@link FakeServer} accepted, and what became of it. */
export interface AcceptedSocket {
  readonly socket: net.Socket;
  /** Everything the client sent. */
  readonly received: () => Buffer;
  /** Resolves with the first bytes the client sent. */
  readonly firstChunk: Promise<Buffer>;
  /** Resolves when the socket has closed on the server's side. */
  readonly closed: Promise<void>;
}

/**
 * A TCP server that stands in for a broker gone wrong. By default it accepts connections and
 * never answers (the broker that hangs); `behave` can make it do something else with each one.
 */
export class FakeServer {
  readonly accepted: AcceptedSocket[] = [];
  private readonly server = net.createServer((socket) => this.onConnection(socket));
  private waiters: ((socket: AcceptedSocket) => void)[] = [];

  constructor(private readonly behave: (socket: net.Socket) => void = () => {}) {}

  /** Starts listening on a free port of 127.0.0.1; resolves with the port. */
  async listen(): Promise<number> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Resolves with the first connection accepted, once there is one. */
  firstConnection(): Promise<AcceptedSocket> {
    const first = this.accepted[0];
    if (first !== undefined) return Promise.resolve(first);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Destroys every accepted socket and stops listening. */
  async close(): Promise<void> {
    for (const { socket } of this.accepted) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(socket: net.Socket): void {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
    });
    socket.on('error', () => {});
    const accepted: AcceptedSocket = {
      socket,
      received: () => Buffer.concat(chunks),
      firstChunk: once(socket, 'data').then(([chunk]) => chunk as Buffer),
      closed: once(socket, 'close').then(() => undefined),
    };
    this.accepted.push(accepted);
    for (const waiter of this.waiters.splice(0)) waiter(accepted);
    this.behave(socket);
  }
}

/** Collects what a consumer receives, and waits for a given count. */
export class Inbox {
  readonly texts: string[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];

  /** Records one message's text. */
  push(text: string): void {
    this.texts.push(text);
    this.waiters = this.waiters.filter((waiter) => {
      if (this.texts.length < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  }

  /** Resolves once `count` messages have arrived (fails after 5 s rather than hang). */
  until(count: number): Promise<void> {
    if (this.texts.length >= count) return Promise.resolve();
    const arrived = new Promise<void>((resolve) => this.waiters.push({ count, resolve }));
    return within(arrived, 5_000, () => `message ${count} arriving (got ${this.texts.join(', ')})`);
  }
}

/**
 * Runs `rabbitmqctl` against one node with `args` and resolves with what it printed, as
 * {@link Broker.rabbitmqctl} does.
 */
export type Rabbitmqctl = (...args: string[]) => Promise<string>;

/**
 * The broker's pid (`<rabbit@host.1.2345.0>`) of the connection whose `connection_name` client
 * property is `name`, from `node`: a {@link Broker} or a {@link Rabbitmqctl} function. RabbitMQ
 * 3.10's `list_connections` has no `user_provided_name` column, so this looks in
 * `client_properties`, which it prints as Erlang terms: `{"connection_name","…"}`. Rejects when
 * no connection has that name.
 */
export async function connectionPid(
  node: Rabbitmqctl | Pick<Broker, 'rabbitmqctl'>,
  name: string,
): Promise<string> {
  const args = ['-q', '--no-table-headers', 'list_connections', 'pid', 'client_properties'];
  const listing = await (typeof node === 'function' ? node(...args) : node.rabbitmqctl(...args));
  const line = listing.split('\n').find((row) => row.includes(`{"connection_name","${name}"}`));
  const pid = line?.split('\t')[0];
  if (pid === undefined || !pid.startsWith('<')) {
    throw new Error(`no connection named ${name} in:\n${listing}`);
  }
  return pid;
}
