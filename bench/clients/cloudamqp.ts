/**
 * @cloudamqp/amqp-client 4.x, its low-level `AMQPClient` used as its README shows:
 * `basicPublish` returns a promise fulfilled once the frames are handed to the socket (or, on a
 * channel in confirm mode, once the broker confirms), which is how the library passes
 * backpressure on, so each publish is awaited (or, with confirms, kept within the window);
 * consumers set `basicQos` and `ack` each message; request/reply uses RabbitMQ's direct
 * reply-to with a correlation id.
 *
 * Nagle's algorithm is turned off on the client's (public) `socket`, as warren has it. The
 * library has no option for it, and with it on, every round trip waits ~40 ms on delayed
 * ACKs: the server's reply and its ack are two small writes. That is also why request/reply
 * is written here on `AMQPClient` rather than with `AMQPSession.rpcServer`/`rpcClient`, whose
 * socket is out of reach; the wire traffic is the same (reply-to consumer with no-ack,
 * requests with `replyTo` and `correlationId`, a server that replies and then acks). The
 * other defaults stay, frame_max 8 KiB included (bodies go out in 8 KiB frames).
 */
import { type AMQPChannel, AMQPClient, type AMQPMessage } from '@cloudamqp/amqp-client';
import {
  type BenchClient,
  body,
  indexOf,
  LARGE_PUBLISH_WINDOW,
  publishWindowed,
  type ScenarioInput,
  waitUntilQueued,
} from '../client.js';

const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';

type Connection = Awaited<ReturnType<AMQPClient['connect']>>;

/** Connects, runs `work`, and always closes the connection. */
async function withConnection<T>(
  input: ScenarioInput,
  work: (connection: Connection) => Promise<T>,
): Promise<T> {
  const client = new AMQPClient(input.url);
  const connection = await client.connect();
  client.socket?.setNoDelay(true);
  try {
    return await work(connection);
  } finally {
    await connection.close().catch(() => {});
  }
}

/** Publishes on a channel in confirm mode, at most `window` unconfirmed. */
function publishConfirmed(
  channel: AMQPChannel,
  input: ScenarioInput,
  window = input.window,
): Promise<void> {
  return publishWindowed(input.count, window, (i) =>
    channel.basicPublish('', input.queue, body(input.size, i)),
  );
}

/**
 * Consumes `count` messages with prefetch `window`, checking each with `check` and acking it;
 * resolves once all are acked, rejects on a mismatch or when the consumer or channel fails.
 */
async function consumeAll(
  channel: AMQPChannel,
  input: ScenarioInput,
  check: (message: AMQPMessage, received: number) => void,
): Promise<{ consumed: Promise<number> }> {
  await channel.basicQos(input.window);
  let received = 0;
  let acked = 0;
  let resolve = (_count: number): void => {};
  let reject = (_error: unknown): void => {};
  const consumed = new Promise<number>((settle, fail) => {
    resolve = settle;
    reject = fail;
  });
  const consumer = await channel.basicConsume(input.queue, { noAck: false }, async (message) => {
    try {
      check(message, received++);
      await message.ack();
    } catch (error) {
      reject(error);
      return;
    }
    if (++acked === input.count) resolve(acked);
  });
  // wait() settles only when the consumer ends: early, that is a failure.
  consumer
    .wait()
    .then(() => reject(new Error('cloudamqp: consumer ended before all messages arrived')), reject);
  consumed.catch(() => {});
  return { consumed };
}

function bodyOf(message: AMQPMessage): Uint8Array {
  const content = message.body;
  if (!(content instanceof Uint8Array)) throw new Error('cloudamqp: a message without a body');
  return content;
}

export const client: BenchClient = {
  publish: (input) =>
    withConnection(input, async (connection) => {
      const channel = await connection.channel();
      for (let i = 0; i < input.count; i++) {
        // Fulfilled when the socket took the frames: the library's backpressure.
        await channel.basicPublish('', input.queue, body(input.size, i));
      }
      await waitUntilQueued(
        input.count,
        async () => (await channel.queueDeclare(input.queue, { passive: true })).messageCount,
      );
      return { messages: input.count };
    }),

  publishConfirm: (input) =>
    withConnection(input, async (connection) => {
      const channel = await connection.channel();
      await channel.confirmSelect();
      await publishConfirmed(channel, input);
      return { messages: input.count };
    }),

  consume: (input) =>
    withConnection(input, async (connection) => {
      const channel = await connection.channel();
      const { consumed } = await consumeAll(channel, input, (message) => {
        const index = indexOf(bodyOf(message), input.size);
        if (index >= input.count) throw new Error(`unexpected message index ${index}`);
      });
      return { messages: await consumed };
    }),

  rpc: (input) =>
    withConnection(input, async (connection) => {
      // The server: replies to each request on its reply-to, echoing the body, then acks it.
      const serving = await connection.channel();
      await serving.basicConsume(input.queue, { noAck: false }, async (request) => {
        const { replyTo, correlationId } = request.properties;
        if (replyTo === undefined) return request.nack(false);
        const properties = { contentType: 'application/json' };
        await serving.basicPublish(
          '',
          replyTo,
          request.body,
          correlationId === undefined ? properties : { ...properties, correlationId },
        );
        await request.ack();
      });
      // The client: direct reply-to needs its consumer (no-ack) before the first request.
      const calling = await connection.channel();
      let pending: { id: string; resolve: (reply: AMQPMessage) => void } | undefined;
      await calling.basicConsume(DIRECT_REPLY_TO, { noAck: true }, (reply) => {
        if (pending === undefined || reply.properties.correlationId !== pending.id) return;
        const { resolve } = pending;
        pending = undefined;
        resolve(reply);
      });
      // A channel the broker closes fails the run instead of leaving a call waiting.
      const failed = new Promise<never>((_, reject) => {
        serving.onerror = calling.onerror = (reason) => reject(new Error(`cloudamqp: ${reason}`));
      });
      failed.catch(() => {});
      const latenciesUs: number[] = [];
      for (let i = 0; i < input.count; i++) {
        const start = process.hrtime.bigint();
        const id = String(i);
        const replied = new Promise<AMQPMessage>((resolve) => {
          pending = { id, resolve };
        });
        await calling.basicPublish('', input.queue, JSON.stringify({ i }), {
          replyTo: DIRECT_REPLY_TO,
          correlationId: id,
          contentType: 'application/json',
        });
        const reply = await Promise.race([replied, failed]);
        const text = reply.bodyString() ?? '';
        const data = JSON.parse(text) as { i?: unknown };
        latenciesUs.push(Number(process.hrtime.bigint() - start) / 1000);
        if (data.i !== i) throw new Error(`reply ${i} carried ${text}`);
      }
      return { messages: input.count, latenciesUs };
    }),

  large: (input) =>
    withConnection(input, async (connection) => {
      const consuming = await connection.channel();
      const publishing = await connection.channel();
      await publishing.confirmSelect();
      const { consumed } = await consumeAll(consuming, input, (message, received) => {
        const index = indexOf(bodyOf(message), input.size);
        if (index !== received) throw new Error(`message ${index} arrived as number ${received}`);
      });
      const published = publishConfirmed(publishing, input, LARGE_PUBLISH_WINDOW);
      published.catch(() => {});
      // Whichever fails first fails the scenario: a mismatch the consumer finds stops it early.
      await Promise.race([published, consumed]);
      await published;
      return { messages: await consumed };
    }),
};
