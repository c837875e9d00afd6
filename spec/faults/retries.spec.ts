/**
 * Delayed retries across lost connections (lib/workers/retry.ts, forward.ts): a consumer behind a
 * TCP proxy whose handler fails each message twice and succeeds on the third attempt, while the
 * proxy cuts the connection many times exactly between a copy's confirm and the original's ack
 * (the ack is then never written). The count that matters: every message handled successfully at
 * least once (0 lost), and how many were handled more than once (duplicates, which at-least-once
 * allows). Checked against the broker over a connection that does not go through the proxy.
 *
 * `WARREN_RETRY_FAULT_MESSAGES` sets how many messages (default 10,000: the figure of issue 12).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type Connection,
  connect,
  type FailureHandler,
  type IncomingMessage,
  Message,
  type Queue,
  retry,
} from '../../lib/index.js';
import { queueCounts, uniqueName, waitFor } from '../support/amqp-helpers.js';
import { type Broker, startBroker } from '../support/broker.js';
import { sleep, within } from '../support/fault-helpers.js';
import { nextRecovery, useFaultSuite, useProxiedBroker } from '../support/fault-suite.js';

// Warnings are expected here: a copy whose publish a cut interrupted is reported.
const { later } = useFaultSuite({ failOnWarrenWarnings: false });
const broker = useProxiedBroker(inject('amqpUrl'), later);

const MESSAGES = Number(process.env.WARREN_RETRY_FAULT_MESSAGES ?? 10_000);
const CUTS = 8;

describe.each(['classic', 'quorum'] as const)(
  'retries on a %s queue, cut between copy and ack',
  (kind) => {
    it(`${MESSAGES} messages, each failing twice, under at least ${CUTS} cuts: none lost`, async () => {
      const { proxy, connection } = await broker.throughProxy();
      const policy = retry({ delays: [20, 40] });
      const name = uniqueName(`faults-retries-${kind}`);
      const direct = await broker.directChannel(true);
      await direct.declareQueue(name, {
        arguments: kind === 'quorum' ? { 'x-queue-type': 'quorum' } : {},
      });
      broker.deleteLater('queue', name);
      for (const wait of policy.waitQueues(name)) broker.deleteLater('queue', wait);

      const channel = await connection.openChannel();
      const queue = channel.queue(name, {
        arguments: kind === 'quorum' ? { 'x-queue-type': 'quorum' } : {},
      });
      const successes = new Map<number, number>();
      let forwards = 0;
      let cuts = 0;
      let cutting = false;
      // Every so many forwards, the connection is cut when the copy is confirmed, before the
      // original's ack is written: the ack never reaches the broker.
      const every = Math.max(1, Math.floor((2 * MESSAGES) / (CUTS * 2)));
      const cutBeforeAck: FailureHandler = {
        prepare: (on, options) => policy.prepare(on, options),
        handle(error, message, on) {
          forwards++;
          if (!cutting && forwards % every === 0) {
            const ack = message.ack.bind(message);
            message.ack = (options) => {
              cutting = true;
              cuts++;
              proxy.cut();
              ack(options);
            };
          }
          return policy.handle(error, message, on);
        },
      };
      connection.on('recovered', () => {
        cutting = false;
      });
      const consumer = await (queue as Queue).consume(
        (message: IncomingMessage) => {
          if (message.attempt < 3) throw new Error(`attempt ${message.attempt} fails`);
          const id = message.json<{ id: number }>().id;
          successes.set(id, (successes.get(id) ?? 0) + 1);
          message.ack();
        },
        { onFailure: cutBeforeAck, prefetch: 100, concurrency: 20 },
      );
      consumer.on('error', () => {});

      const exchange = direct.exchange('');
      for (let start = 0; start < MESSAGES; start += 500) {
        const batch: Promise<void>[] = [];
        for (let id = start; id < Math.min(MESSAGES, start + 500); id++) {
          batch.push(exchange.publish({ id }, name));
        }
        await Promise.all(batch);
      }

      await waitFor(() => successes.size === MESSAGES, 170_000, `${MESSAGES} handled`);
      // Let duplicates that are still on their way arrive, then count.
      const names = [name, ...policy.waitQueues(name)];
      await waitFor(
        async () => {
          for (const each of names) {
            if ((await queueCounts(broker.direct, each))?.messageCount !== 0) return false;
          }
          return consumer.active === 0;
        },
        30_000,
        'every queue empty',
      );
      await sleep(500);
      const lost = MESSAGES - successes.size;
      let duplicates = 0;
      for (const count of successes.values()) duplicates += count - 1;
      console.log(
        `retries (${kind}): ${MESSAGES} messages, ${cuts} cuts between copy and ack, ${forwards} forwards, lost ${lost}, duplicates ${duplicates}`,
      );
      expect(lost).toBe(0);
      expect(cuts).toBeGreaterThanOrEqual(5);
      if (cutting) await nextRecovery(connection);
      await consumer.cancel();
    }, 240_000);
  },
);

describe('the broker restarts while messages wait (its own node: stop_app, start_app)', () => {
  let node: Broker;
  beforeAll(async () => {
    node = await startBroker();
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('durable wait queues and the persistent messages in them survive; the retries come after', async () => {
    const recovery = { initialDelay: 100, maxDelay: 500, waitTimeout: 60_000 };
    const connection: Connection = await connect(node.url, { recovery });
    later(() => connection.close());
    const channel = await connection.openChannel();
    const policy = retry({ delays: [2_000] });
    const attempts = new Map<string, number[]>();
    for (const kind of ['classic', 'quorum'] as const) {
      const queue = await channel.declareQueue(uniqueName(`restart-${kind}`), {
        arguments: kind === 'quorum' ? { 'x-queue-type': 'quorum' } : {},
      });
      attempts.set(kind, []);
      const consumer = await queue.consume(
        (message) => {
          attempts.get(kind)?.push(message.attempt);
          if (message.attempt === 1) throw new Error('wait for the restart');
          message.ack();
        },
        { onFailure: policy },
      );
      consumer.on('error', () => {});
      const publisher = await connection.openChannel({ confirm: true });
      await publisher.exchange('').publish(new Message(kind, { deliveryMode: 2 }), queue.name);
      await publisher.close();
      const wait = policy.waitQueues(queue)[0] as string;
      await waitFor(
        async () => (await queueCounts(connection, wait))?.messageCount === 1,
        5_000,
        `the ${kind} message in its wait queue`,
      );
    }
    const back = new Promise((resolve) => connection.once('recovered', resolve));
    await node.rabbitmqctl('stop_app');
    await node.rabbitmqctl('start_app');
    await within(back, 30_000, 'recovery after start_app');
    await waitFor(
      () => attempts.get('classic')?.length === 2 && attempts.get('quorum')?.length === 2,
      20_000,
      'both retries after the restart',
    );
    expect(Object.fromEntries(attempts)).toEqual({ classic: [1, 2], quorum: [1, 2] });
  }, 120_000);
});
