/**
 * The brokers of warren's own tests, benchmarks and demo, on warren/testing (lib/testing): the
 * mechanism (throwaway nodes, cleanup on exit, rabbitmqctl) lives there; this module only
 * re-exports it under the names the specs use, and adds what is theirs alone.
 *
 * @module
 */
import { type TestBroker, useBroker } from '../../lib/testing/index.js';

export {
  type Broker,
  type BrokerTlsOptions,
  probeAmqp,
  RabbitmqctlError,
  type RunAs,
  resolveRunAs,
  type StartBrokerOptions,
  startBroker,
} from '../../lib/testing/index.js';

/** A broker to talk to, and how to let go of it. */
export interface BrokerLease {
  /** The AMQP URL to connect to. */
  readonly url: string;
  /** The broker, as `useBroker` found or started it. */
  readonly broker: TestBroker;
  /** How the broker was found, for a log line (never shows a password). */
  readonly description: string;
  /** Stops the node if this lease started it. */
  release(): Promise<void>;
}

/**
 * The broker that tests, the demo and benchmarks use (`useBroker`: AMQP_URL, else one on
 * 127.0.0.1:5672, else a throwaway node), installing RabbitMQ first on a fresh Debian machine
 * where this runs as root, so that `npm test` works there as the README says.
 */
export async function findOrStartBroker(): Promise<BrokerLease> {
  const began = performance.now();
  const broker = await useBroker({ start: { installWithApt: true } });
  const seconds = ((performance.now() - began) / 1000).toFixed(1);
  const description =
    broker.source === 'started' ? `${broker.description} in ${seconds} s` : broker.description;
  return { url: broker.url, broker, description, release: () => broker.stop() };
}
