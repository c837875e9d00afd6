/**
 * Vitest global setup for the `integration` project: finds or starts the RabbitMQ the integration
 * tests use ({@link findOrStartBroker}), and provides its URL (`inject('amqpUrl')`) and, when it
 * started the node itself, the node name (`inject('brokerNode')`, for `rabbitmqctlOn()`).
 */
import type { TestProject } from 'vitest/node';
import { findOrStartBroker } from './broker.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const lease = await findOrStartBroker();
  project.provide('amqpUrl', lease.url);
  project.provide('brokerNode', lease.broker?.nodeName ?? '');
  process.stderr.write(`[warren] integration tests: ${lease.description}\n`);
  return () => lease.release();
}
