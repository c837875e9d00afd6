/**
 * The broker the integration tests run against, in a test file, as warren/testing gives it
 * back from what the global setup provides: its URL, and the node name for `rabbitmqctl`
 * (the node the setup started, else `RABBITMQ_NODENAME`, else `rabbit@localhost`: the node of
 * a RabbitMQ service on this machine).
 */
import { inject } from 'vitest';
import { type TestBroker, useBroker } from '../../lib/testing/index.js';

let broker: Promise<TestBroker> | undefined;

/** The tests' broker (made once per test file). */
export function testBroker(): Promise<TestBroker> {
  broker ??= useBroker({
    url: inject('amqpUrl'),
    nodeName: inject('brokerNode') || process.env.RABBITMQ_NODENAME || 'rabbit@localhost',
  });
  return broker;
}

/** Runs rabbitmqctl against the broker the tests use. */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  return (await testBroker()).rabbitmqctl(...args);
}
