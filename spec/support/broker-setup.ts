/**
 * Vitest global setup for the `integration` project: finds or starts the RabbitMQ the integration
 * tests use, and provides its URL (`inject('amqpUrl')`) and, when it started the node itself, the
 * node name (`inject('brokerNode')`, for `rabbitmqctlOn()`).
 *
 * In order: `AMQP_URL` if set; else a broker already answering AMQP on 127.0.0.1:5672; else a
 * throwaway node from {@link startBroker}, stopped again in teardown.
 */
import type { TestProject } from 'vitest/node';
import { type Broker, probeAmqp, startBroker } from './broker.js';

const LOCAL_URL = 'amqp://guest:guest@127.0.0.1:5672/';

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable AMQP_URL)';
  }
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const began = performance.now();
  let broker: Broker | undefined;
  let url: string;
  let note: string;
  const fromEnv = process.env.AMQP_URL;
  if (fromEnv !== undefined && fromEnv !== '') {
    url = fromEnv;
    note = `using AMQP_URL ${redact(url)}`;
  } else if (await probeAmqp(5672, '127.0.0.1', 500)) {
    url = LOCAL_URL;
    note = `using the broker already listening on 127.0.0.1:5672 (found in ${seconds(began)})`;
  } else {
    broker = await startBroker();
    url = broker.url;
    note = `started RabbitMQ node ${broker.nodeName} at ${url} in ${seconds(began)}`;
  }
  project.provide('amqpUrl', url);
  project.provide('brokerNode', broker?.nodeName ?? '');
  process.stderr.write(`[warren] integration tests: ${note}\n`);

  return async () => {
    await broker?.stop();
  };
}
