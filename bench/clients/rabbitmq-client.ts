/**
 * rabbitmq-client 5.x, used as its README recommends: a `Publisher` from `createPublisher`
 * (its `send` promise settles once the frames are written, waiting out a full socket, or, with
 * `confirm: true`, once the broker confirms), a `Consumer` from `createConsumer` with a qos
 * prefetch whose handler returns `ConsumerStatus.ACK`, and `createRPCClient` against a consumer
 * that replies (direct reply-to underneath). Its defaults stay, frame_max 8 KiB included
 * (bodies go out in 8 KiB frames); only Nagle is turned off, with its documented `noDelay`.
 */
import { type AsyncMessage, Connection, ConsumerStatus, type Publisher } from 'rabbitmq-client';
import {
  type BenchClient,
  body,
  indexOf,
  LARGE_PUBLISH_WINDOW,
  publishWindowed,
  type ScenarioInput,
  waitUntilQueued,
} from '../client.js';

/** Opens a connection, runs `work`, and always closes it; a connection error fails the run. */
async function withConnection<T>(
  input: ScenarioInput,
  work: (rabbit: Connection, failed: Promise<never>) => Promise<T>,
): Promise<T> {
  // Nagle off, as warren has it: with it on, a request/reply round trip waits ~40 ms on
  // delayed ACKs whenever a small write (an ack, a reply) trails another one.
  const rabbit = new Connection({ url: input.url, noDelay: true });
  const failed = new Promise<never>((_, reject) => {
    rabbit.on('error', reject);
  });
  failed.catch(() => {});
  try {
    await Promise.race([rabbit.onConnect(), failed]);
    return await Promise.race([work(rabbit, failed), failed]);
  } finally {
    await rabbit.close().catch(() => {});
  }
}

/** Sends on a confirming publisher, at most `window` unconfirmed. */
function publishConfirmed(
  publisher: Publisher,
  input: ScenarioInput,
  window = input.window,
): Promise<void> {
  return publishWindowed(input.count, window, (i) =>
    publisher.send(input.queue, body(input.size, i)),
  );
}

/**
 * Consumes `count` messages with prefetch `window`, checking each with `check`; the handler
 * returns ACK, so the library acks each one. Resolves when all are handled, rejects on a
 * mismatch (the message is then dropped rather than requeued) or a consumer error.
 */
function consumeAll(
  rabbit: Connection,
  input: ScenarioInput,
  check: (message: AsyncMessage, received: number) => void,
): { consumed: Promise<number>; close: () => Promise<void> } {
  let received = 0;
  let resolve = (_count: number): void => {};
  let reject = (_error: unknown): void => {};
  const consumed = new Promise<number>((settle, fail) => {
    resolve = settle;
    reject = fail;
  });
  consumed.catch(() => {});
  const consumer = rabbit.createConsumer(
    {
      queue: input.queue,
      queueOptions: { passive: true },
      qos: { prefetchCount: input.window },
    },
    (message) => {
      try {
        check(message, received);
      } catch (error) {
        reject(error);
        return ConsumerStatus.DROP;
      }
      if (++received === input.count) resolve(received);
      return ConsumerStatus.ACK;
    },
  );
  consumer.on('error', reject);
  return { consumed, close: () => consumer.close() };
}

function contentOf(message: AsyncMessage): Buffer {
  const content: unknown = message.body;
  if (!Buffer.isBuffer(content)) throw new Error('rabbitmq-client: a body that is not a Buffer');
  return content;
}

export const client: BenchClient = {
  publish: (input) =>
    withConnection(input, async (rabbit) => {
      const publisher = rabbit.createPublisher();
      try {
        for (let i = 0; i < input.count; i++) {
          // Settles once the frames are written: the library's backpressure.
          await publisher.send(input.queue, body(input.size, i));
        }
      } finally {
        await publisher.close();
      }
      await waitUntilQueued(
        input.count,
        async () => (await rabbit.queueDeclare({ queue: input.queue, passive: true })).messageCount,
      );
      return { messages: input.count };
    }),

  publishConfirm: (input) =>
    withConnection(input, async (rabbit) => {
      const publisher = rabbit.createPublisher({ confirm: true });
      try {
        await publishConfirmed(publisher, input);
      } finally {
        await publisher.close();
      }
      return { messages: input.count };
    }),

  consume: (input) =>
    withConnection(input, async (rabbit) => {
      const { consumed, close } = consumeAll(rabbit, input, (message) => {
        const index = indexOf(contentOf(message), input.size);
        if (index >= input.count) throw new Error(`unexpected message index ${index}`);
      });
      try {
        return { messages: await consumed };
      } finally {
        await close();
      }
    }),

  rpc: (input) =>
    withConnection(input, async (rabbit) => {
      // The server: a consumer that replies with the request's (JSON-decoded) body.
      const server = rabbit.createConsumer(
        { queue: input.queue, queueOptions: { passive: true } },
        async (request, reply) => {
          await reply(request.body);
        },
      );
      const rpcClient = rabbit.createRPCClient();
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('ready', resolve);
          server.once('error', reject);
        });
        const latenciesUs: number[] = [];
        for (let i = 0; i < input.count; i++) {
          const start = process.hrtime.bigint();
          const reply = await rpcClient.send(input.queue, { i });
          latenciesUs.push(Number(process.hrtime.bigint() - start) / 1000);
          if ((reply.body as { i?: unknown } | null)?.i !== i) {
            throw new Error(`reply ${i} carried ${JSON.stringify(reply.body)}`);
          }
        }
        return { messages: input.count, latenciesUs };
      } finally {
        await rpcClient.close();
        await server.close();
      }
    }),

  large: (input) =>
    withConnection(input, async (rabbit) => {
      const { consumed, close } = consumeAll(rabbit, input, (message, received) => {
        const index = indexOf(contentOf(message), input.size);
        if (index !== received) throw new Error(`message ${index} arrived as number ${received}`);
      });
      const publisher = rabbit.createPublisher({ confirm: true });
      try {
        const published = publishConfirmed(publisher, input, LARGE_PUBLISH_WINDOW);
        published.catch(() => {});
        // Whichever fails first fails the scenario: a mismatch the consumer finds stops it early.
        await Promise.race([published, consumed]);
        await published;
        return { messages: await consumed };
      } finally {
        await publisher.close();
        await close();
      }
    }),
};
