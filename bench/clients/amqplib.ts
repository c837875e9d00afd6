/**
 * amqplib 2.x, promise API, used as its README and API reference show: `sendToQueue` returns
 * false when the channel's write buffer is full, and the caller waits for the channel's 'drain'
 * event before publishing more; a ConfirmChannel calls back per publish; consumers set a
 * prefetch and `ack` each message; request/reply uses RabbitMQ's direct reply-to. Defaults
 * stay, except Nagle, turned off with the documented `noDelay` socket option.
 */

import type { EventEmitter } from 'node:events';
import { once } from 'node:events';
import { type ChannelModel, type ConfirmChannel, type ConsumeMessage, connect } from 'amqplib';
import {
  type BenchClient,
  body,
  indexOf,
  LARGE_PUBLISH_WINDOW,
  type ScenarioInput,
  waitUntilQueued,
} from '../client.js';

const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';

/**
 * A promise that rejects when any of `emitters` errors or closes: raced against every wait, so
 * a channel the broker closes fails the scenario instead of hanging it. Handled up front, so
 * closing the connection at the end raises no unhandled rejection.
 */
function failure(...emitters: EventEmitter[]): Promise<never> {
  const failed = new Promise<never>((_, reject) => {
    for (const emitter of emitters) {
      emitter.on('error', reject);
      emitter.on('close', () => reject(new Error('amqplib: closed before the scenario finished')));
    }
  });
  failed.catch(() => {});
  return failed;
}

/** Opens a connection, runs `work`, and always closes the connection. */
async function withConnection<T>(
  input: ScenarioInput,
  work: (connection: ChannelModel) => Promise<T>,
): Promise<T> {
  // Nagle off, as warren has it: with it on, a request/reply round trip waits ~40 ms on
  // delayed ACKs whenever a small write (an ack, a reply) trails another one.
  const connection = await connect(input.url, { noDelay: true });
  try {
    return await work(connection);
  } finally {
    await connection.close().catch(() => {});
  }
}

/**
 * Publishes `count` bodies on a confirm channel with at most `window` unconfirmed, honouring
 * both the confirm window (per-publish callbacks) and the channel's write buffer ('drain').
 */
async function publishConfirmed(
  channel: ConfirmChannel,
  input: ScenarioInput,
  failed: Promise<never>,
  window = Math.max(1, input.window),
): Promise<void> {
  let outstanding = 0;
  let nacked: Error | undefined;
  let wake: (() => void) | undefined;
  const confirmed = (error: unknown): void => {
    outstanding--;
    if (error != null && nacked === undefined) {
      nacked = error instanceof Error ? error : new Error(`amqplib: publish nacked (${error})`);
    }
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  for (let i = 0; i < input.count; i++) {
    while (outstanding >= window) {
      await Promise.race([new Promise<void>((resolve) => (wake = resolve)), failed]);
    }
    if (nacked !== undefined) throw nacked;
    outstanding++;
    const room = channel.sendToQueue(input.queue, body(input.size, i), {}, confirmed);
    if (!room) await Promise.race([once(channel, 'drain'), failed]);
  }
  await Promise.race([channel.waitForConfirms(), failed]);
  if (nacked !== undefined) throw nacked;
}

export const client: BenchClient = {
  publish: (input) =>
    withConnection(input, async (connection) => {
      const channel = await connection.createChannel();
      const failed = failure(connection, channel);
      for (let i = 0; i < input.count; i++) {
        // false: the message is buffered, but the buffer is full; wait until it drains.
        if (!channel.sendToQueue(input.queue, body(input.size, i))) {
          await Promise.race([once(channel, 'drain'), failed]);
        }
      }
      await Promise.race([
        waitUntilQueued(
          input.count,
          async () => (await channel.checkQueue(input.queue)).messageCount,
        ),
        failed,
      ]);
      return { messages: input.count };
    }),

  publishConfirm: (input) =>
    withConnection(input, async (connection) => {
      const channel = await connection.createConfirmChannel();
      await publishConfirmed(channel, input, failure(connection, channel));
      return { messages: input.count };
    }),

  consume: (input) =>
    withConnection(input, async (connection) => {
      const channel = await connection.createChannel();
      const failed = failure(connection, channel);
      await channel.prefetch(input.window);
      let received = 0;
      const done = new Promise<void>((resolve, reject) => {
        channel
          .consume(
            input.queue,
            (message: ConsumeMessage | null) => {
              if (message === null) return reject(new Error('amqplib: consumer cancelled'));
              try {
                const index = indexOf(message.content, input.size);
                if (index >= input.count) throw new Error(`unexpected message index ${index}`);
              } catch (error) {
                return reject(error);
              }
              channel.ack(message);
              if (++received === input.count) resolve();
            },
            { noAck: false },
          )
          .catch(reject);
      });
      await Promise.race([done, failed]);
      // Closing the channel flushes its buffered acks before the connection goes.
      await channel.close();
      return { messages: received };
    }),

  rpc: (input) =>
    withConnection(input, async (connection) => {
      // The server: consumes requests and answers each on its reply-to, echoing the body.
      const serving = await connection.createChannel();
      const calling = await connection.createChannel();
      const failed = failure(connection, serving, calling);
      await serving.consume(
        input.queue,
        (request) => {
          if (request === null) return;
          const { replyTo, correlationId } = request.properties;
          serving.sendToQueue(replyTo, request.content, {
            correlationId,
            contentType: 'application/json',
          });
          serving.ack(request);
        },
        { noAck: false },
      );
      // The client: direct reply-to needs its consumer (no-ack) before the first request.
      let pending: { id: string; resolve: (reply: ConsumeMessage) => void } | undefined;
      await calling.consume(
        DIRECT_REPLY_TO,
        (reply) => {
          if (reply === null || pending === undefined) return;
          if (reply.properties.correlationId !== pending.id) return;
          const { resolve } = pending;
          pending = undefined;
          resolve(reply);
        },
        { noAck: true },
      );
      const latenciesUs: number[] = [];
      for (let i = 0; i < input.count; i++) {
        const start = process.hrtime.bigint();
        const id = String(i);
        const replied = new Promise<ConsumeMessage>((resolve) => {
          pending = { id, resolve };
        });
        calling.sendToQueue(input.queue, Buffer.from(JSON.stringify({ i })), {
          replyTo: DIRECT_REPLY_TO,
          correlationId: id,
          contentType: 'application/json',
        });
        const reply = await Promise.race([replied, failed]);
        const data = JSON.parse(reply.content.toString()) as { i?: unknown };
        latenciesUs.push(Number(process.hrtime.bigint() - start) / 1000);
        if (data.i !== i) throw new Error(`reply ${i} carried ${reply.content.toString()}`);
      }
      await serving.close();
      return { messages: input.count, latenciesUs };
    }),

  large: (input) =>
    withConnection(input, async (connection) => {
      const consuming = await connection.createChannel();
      const publishing = await connection.createConfirmChannel();
      const failed = failure(connection, consuming, publishing);
      await consuming.prefetch(input.window);
      let received = 0;
      const done = new Promise<void>((resolve, reject) => {
        consuming
          .consume(
            input.queue,
            (message) => {
              if (message === null) return reject(new Error('amqplib: consumer cancelled'));
              try {
                const index = indexOf(message.content, input.size);
                if (index !== received) {
                  throw new Error(`message ${index} arrived as number ${received}`);
                }
              } catch (error) {
                return reject(error);
              }
              consuming.ack(message);
              if (++received === input.count) resolve();
            },
            { noAck: false },
          )
          .catch(reject);
      });
      // Publishing stops too when the consumer finds a mismatch.
      const broken = Promise.race([failed, done.then(() => failed)]);
      broken.catch(() => {});
      await publishConfirmed(publishing, input, broken, LARGE_PUBLISH_WINDOW);
      await Promise.race([done, failed]);
      await consuming.close();
      return { messages: received };
    }),
};
