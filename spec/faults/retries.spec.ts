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
import { describe, expect, inject, it } from 'vitest';
import { type FailureHandler, type IncomingMessage, type Queue, retry } from '../../lib/index.js';
import { queueCounts, uniqueName, waitFor } from '../support/amqp-helpers.js';
import { sleep } from '../support/fault-helpers.js';
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
