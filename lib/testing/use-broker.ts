/**
 * {@link useBroker}: the broker a test suite runs against, found the way a
 * developer expects: the one they named, else one already running here, else
 * a throwaway node.
 */
import type { BrokerSource, StartBrokerOptions, TestBroker } from './broker.js';
import { probeAmqp } from './probe.js';
import { HOST } from './processes.js';
import { type Rabbitmqctl, rabbitmqctlFor, unavailableRabbitmqctl } from './rabbitmqctl.js';
import { startBroker } from './start-broker.js';

/** RabbitMQ's own port, where a broker installed as a service listens. */
const LOCAL_PORT = 5672;
const LOCAL_PROBE_MS = 500;
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** Options for {@link useBroker}. */
export interface UseBrokerOptions {
  /**
   * The broker to use, instead of asking the environment: what a vitest global setup provides
   * to its test files (`inject()`), say. Wins over `AMQP_URL`.
   */
  url?: string;
  /**
   * The Erlang node name of the broker at {@link UseBrokerOptions.url} (or `AMQP_URL`), for
   * `rabbitmqctl`: a node {@link startBroker} started on this machine, in this process or
   * another, or a node of the machine's RabbitMQ service. Without it, `rabbitmqctl` targets
   * the service's default node (`rabbit@<host>`).
   */
  nodeName?: string;
  /**
   * Whether a broker already answering AMQP on 127.0.0.1:5672 is used (with guest/guest)
   * when `AMQP_URL` is not set. `false` always starts a throwaway node, for a suite that must
   * not touch a developer's own broker.
   * @defaultValue true
   */
  reuseLocal?: boolean;
  /** How to start a throwaway node, when one is started. */
  start?: StartBrokerOptions;
}

/**
 * The broker a test suite runs against, decided in this order:
 *
 * 1. {@link UseBrokerOptions.url}, when given;
 * 2. the `AMQP_URL` environment variable, when set and not empty (CI with a broker service);
 * 3. a broker already answering AMQP on 127.0.0.1:5672 (RabbitMQ installed as a service), with
 *    guest/guest, unless {@link UseBrokerOptions.reuseLocal} is false;
 * 4. else a throwaway node, started with {@link startBroker}.
 *
 * {@link TestBroker.stop} stops only a node started here; a broker found is left running. A
 * started node is killed, and its folder removed, when the process exits or is interrupted,
 * even if `stop()` is never called.
 *
 * @example
 * const broker = await useBroker();
 * console.log(broker.description); // e.g. "started RabbitMQ node warren-…@localhost at 127.0.0.1:40123"
 * const connection = await connect(broker.url);
 * // …
 * await connection.close();
 * await broker.stop();
 * @throws TypeError, RangeError for bad options
 */
export async function useBroker(options: UseBrokerOptions = {}): Promise<TestBroker> {
  checkUseOptions(options);
  if (options.url !== undefined) return found(options.url, 'given', options.nodeName);
  const fromEnv = process.env.AMQP_URL;
  if (fromEnv !== undefined && fromEnv !== '') {
    checkUrl('AMQP_URL', fromEnv);
    return found(fromEnv, 'AMQP_URL', options.nodeName);
  }
  if (options.reuseLocal !== false && (await probeAmqp(LOCAL_PORT, HOST, LOCAL_PROBE_MS))) {
    return found(`amqp://guest:guest@${HOST}:${LOCAL_PORT}/`, 'localhost', options.nodeName);
  }
  const broker = await startBroker(options.start);
  return {
    url: broker.url,
    source: 'started',
    nodeName: broker.nodeName,
    description: `started ${broker.description}`,
    rabbitmqctl: broker.rabbitmqctl,
    stop: broker.stop,
  };
}

/** A broker that was running before: `stop()` leaves it alone. */
function found(url: string, source: BrokerSource, nodeName: string | undefined): TestBroker {
  const where = source === 'given' ? 'the broker' : `${source}:`;
  return {
    url,
    source,
    nodeName,
    description: `using ${where} ${redacted(url)}`,
    rabbitmqctl: rabbitmqctlOf(url, source, nodeName),
    stop: async () => undefined,
  };
}

/**
 * `rabbitmqctl` runs on this machine: for a broker on another one it cannot help, and says so
 * at once rather than after an Erlang distribution timeout.
 */
function rabbitmqctlOf(
  url: string,
  source: BrokerSource,
  nodeName: string | undefined,
): Rabbitmqctl {
  const host = new URL(url).hostname;
  if (nodeName !== undefined || LOOPBACK.has(host) || host === '') return rabbitmqctlFor(nodeName);
  return unavailableRabbitmqctl(
    `the broker (${source} ${redacted(url)}) runs on ${host}, another machine: rabbitmqctl ` +
      'works only for a broker on this one. Manage it there (its management HTTP API, or ' +
      'rabbitmqctl on that machine), pass useBroker({ nodeName }) if it is an Erlang node this ' +
      'machine can reach, or unset AMQP_URL so that useBroker() starts a local node.',
  );
}

/** The URL without its password. */
function redacted(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}

function checkUrl(name: string, url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RangeError(`${name} is not a URL: '${url.replace(/:[^:@/]*@/, ':***@')}'`);
  }
  if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:') {
    throw new RangeError(`${name} must be an amqp:// or amqps:// URL, not ${parsed.protocol}//…`);
  }
}

function checkUseOptions(options: UseBrokerOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('useBroker() options must be an object');
  }
  if (options.url !== undefined) {
    if (typeof options.url !== 'string') throw new TypeError('url must be a string');
    checkUrl('url', options.url);
  }
  if (options.nodeName !== undefined && typeof options.nodeName !== 'string') {
    throw new TypeError('nodeName must be a string');
  }
  if (options.reuseLocal !== undefined && typeof options.reuseLocal !== 'boolean') {
    throw new TypeError('reuseLocal must be a boolean');
  }
}
