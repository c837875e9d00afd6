/**
 * {@link freshVhost}: a virtual host of its own for a test, so that tests
 * running side by side on one broker never see each other's queues.
 */
import { randomBytes } from 'node:crypto';
import type { TestBroker } from './broker.js';

/** Options for {@link freshVhost}. */
export interface FreshVhostOptions {
  /**
   * The start of the vhost's name; a random suffix follows, so that each call gets a new one.
   * @defaultValue 'warren-test'
   */
  prefix?: string;
}

/** A virtual host made for one test by {@link freshVhost}. */
export interface FreshVhost {
  /** The vhost's name, e.g. `warren-test-3f9a2c81d0e4`. */
  readonly name: string;
  /** The broker's URL with this vhost, with the broker's credentials. */
  readonly url: string;
  /** The broker it lives on. */
  readonly broker: TestBroker;
  /**
   * Deletes the vhost and everything in it (the broker closes connections to it). Idempotent:
   * later calls return the same promise.
   */
  delete(): Promise<void>;
  /** The same as {@link FreshVhost.delete}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Makes a new virtual host on `broker` and gives the broker's user (the one in its URL,
 * `guest` without one) every permission on it (configure, write, read: `.*`). Connect to
 * {@link FreshVhost.url}; {@link FreshVhost.delete} removes it with everything in it.
 *
 * It uses `rabbitmqctl` (AMQP cannot make a vhost; RabbitMQ's management plugin is not
 * enabled by default), which works for a node {@link startBroker} or {@link useBroker}
 * started, and for a broker on this machine; for a broker on another machine (an `AMQP_URL`
 * in CI) it rejects with a {@link TestBrokerError} `RABBITMQCTL_UNAVAILABLE` that says so.
 *
 * @example
 * await using vhost = await freshVhost(broker);
 * const connection = await connect(vhost.url);
 * @throws TypeError for a bad argument
 */
export async function freshVhost(
  broker: TestBroker,
  options: FreshVhostOptions = {},
): Promise<FreshVhost> {
  if (typeof broker?.rabbitmqctl !== 'function' || typeof broker.url !== 'string') {
    throw new TypeError('freshVhost() needs a broker from useBroker() or startBroker()');
  }
  const prefix = options.prefix ?? 'warren-test';
  if (typeof prefix !== 'string') throw new TypeError('prefix must be a string');
  if (!/^[A-Za-z0-9_.-]{0,200}$/.test(prefix)) {
    throw new RangeError(`prefix '${prefix}' may hold only letters, digits, '_', '.' and '-'`);
  }
  const name = `${prefix}-${randomBytes(6).toString('hex')}`;
  const url = new URL(broker.url);
  const user = url.username === '' ? 'guest' : decodeURIComponent(url.username);
  await broker.rabbitmqctl('add_vhost', name);
  try {
    await broker.rabbitmqctl('set_permissions', '-p', name, user, '.*', '.*', '.*');
  } catch (error) {
    await broker.rabbitmqctl('delete_vhost', name).catch(() => undefined);
    throw error;
  }
  url.pathname = `/${encodeURIComponent(name)}`;
  let deleting: Promise<void> | undefined;
  const remove = (): Promise<void> => {
    deleting ??= broker.rabbitmqctl('delete_vhost', name).then(() => undefined);
    return deleting;
  };
  return { name, url: url.toString(), broker, delete: remove, [Symbol.asyncDispose]: remove };
}
