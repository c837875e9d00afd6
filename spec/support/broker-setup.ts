/**
 * Vitest global setup for the projects that need RabbitMQ (`integration`, `faults`): finds or
 * starts the broker the tests use ({@link findOrStartBroker}), and provides its URL
 * (`inject('amqpUrl')`) and, when it started the node itself, the node name
 * (`inject('brokerNode')`, for rabbitmqctl: spec/support/test-broker.ts).
 *
 * Each project runs its global setup, in the same process: they share one broker through a
 * process-wide lease, counted, so that the last project to finish stops it.
 */
import type { TestProject } from 'vitest/node';
import { type BrokerLease, findOrStartBroker } from './broker.js';

interface SharedLease {
  lease: Promise<BrokerLease>;
  users: number;
}

const KEY = Symbol.for('warren.test-broker');
const shared = globalThis as typeof globalThis & { [KEY]?: SharedLease };

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  shared[KEY] ??= { lease: findOrStartBroker(), users: 0 };
  const entry = shared[KEY];
  entry.users++;
  const lease = await entry.lease;
  project.provide('amqpUrl', lease.url);
  project.provide(
    'brokerNode',
    lease.broker.source === 'started' ? (lease.broker.nodeName ?? '') : '',
  );
  if (entry.users === 1) process.stderr.write(`[warren] test broker: ${lease.description}\n`);
  return async () => {
    entry.users--;
    if (entry.users > 0) return;
    delete shared[KEY];
    await lease.release();
  };
}
