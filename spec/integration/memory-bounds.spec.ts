/**
 * Memory stays bounded whatever the application does, against RabbitMQ: a
 * backlog drained by a slow handler never holds more than
 * `maxBufferedDeliveryBytes` of deliveries waiting (warren stops reading the
 * socket, and every message still arrives) for every kind of consumer;
 * heartbeats and other channels' replies survive the pause; `prefetch` with
 * `noAck` is refused before anything is sent; and a loop of unawaited
 * publishes holds at most `maxBufferedPublishBytes`, the rest refused with
 * `PUBLISH_BUFFER_FULL` and never sent.
 */
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import {
  AmqpError,
  type Channel,
  type Connection,
  connect,
  type IncomingMessage,
} from '../../lib/index.js';
import { deleteAfterTest, queueCounts, uniqueName, waitFor } from '../support/amqp-helpers.js';
import { sleep } from '../support/fault-helpers.js';

const url = inject('amqpUrl');

const BODY = 1024;
const COUNT = 3_000;
/** A quarter of the backlog's weight (3,000 × 1.5 KiB). */
const LIMIT = 1024 * 1024;
/**
 * What one socket read can add past the limit before reading stops: a read slab (256 KiB) of
 * 1 KiB deliveries, each counted with its 512 bytes of overhead.
 */
const ONE_READ = 400 * 1024;

let connection: Connection;
let admin: Connection;

beforeEach(async () => {
  connection = await connect(url, { maxBufferedDeliveryBytes: LIMIT, recovery: false });
  admin = await connect(url, { recovery: false });
});

afterEach(async () => {
  await connection.close();
  await admin.close();
});

/** A queue holding `count` messages of `BODY` bytes, each body starting with its index. */
async function backlog(count = COUNT): Promise<string> {
  const name = uniqueName('memory');
  deleteAfterTest(admin, 'queue', name);
  const channel = await admin.openChannel({ confirm: true });
  await channel.declareQueue(name, { durable: false });
  const exchange = channel.exchange('');
  const sends: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const body = Buffer.alloc(BODY, 0x20);
    body.write(String(i));
    sends.push(exchange.publish(body, name));
  }
  await Promise.all(sends);
  await channel.close();
  return name;
}

const indexOf = (message: IncomingMessage): number =>
  Number.parseInt(message.body.toString('latin1', 0, 8), 10);

/** What the connection's counters showed while the handler ran. */
interface Seen {
  maxDeliveries: number;
  paused: boolean;
  indexes: number[];
}

/** A slow handler's body: records the counters and the message, then takes about a millisecond. */
function slowly(seen: Seen): (message: IncomingMessage) => Promise<void> {
  return async (message) => {
    const { deliveries, readingPaused } = connection.buffered;
    seen.maxDeliveries = Math.max(seen.maxDeliveries, deliveries);
    seen.paused ||= readingPaused;
    seen.indexes.push(indexOf(message));
    await sleep(1);
  };
}

function expectBounded(seen: Seen): void {
  // Every message arrived, in order.
  expect(seen.indexes).toEqual(Array.from({ length: COUNT }, (_, i) => i));
  // Reading stopped, and what waited stayed within the limit (give or take one socket read).
  expect(seen.paused).toBe(true);
  expect(seen.maxDeliveries).toBeGreaterThan(LIMIT / 2);
  expect(seen.maxDeliveries).toBeLessThanOrEqual(LIMIT + ONE_READ);
}

describe('deliveries waiting for a handler are bounded', () => {
  const kinds: [string, (channel: Channel, queue: string, seen: Seen) => Promise<void>][] = [
    [
      'noAck',
      async (channel, queue, seen) => {
        const handle = slowly(seen);
        await channel.queue(queue).consume(handle, { noAck: true });
      },
    ],
    [
      'manual, without prefetch',
      async (channel, queue, seen) => {
        const handle = slowly(seen);
        await channel.queue(queue).consume(async (message) => {
          await handle(message);
          message.ack();
        });
      },
    ],
    [
      'auto, with a prefetch larger than the limit',
      async (channel, queue, seen) => {
        await channel.queue(queue).consume(slowly(seen), { settle: 'auto', prefetch: COUNT });
      },
    ],
    [
      'queue.messages() with a prefetch larger than the limit',
      async (channel, queue, seen) => {
        const handle = slowly(seen);
        void (async () => {
          for await (const message of channel.queue(queue).messages({ prefetch: COUNT })) {
            await handle(message);
            message.ack();
            if (seen.indexes.length === COUNT) break;
          }
        })();
      },
    ],
    [
      'serve(), without prefetch',
      async (channel, queue, seen) => {
        const handle = slowly(seen);
        // Requests without replyTo: handled and acked, nothing sent back.
        await channel.queue(queue).serve(async (request) => {
          await handle(request);
          return null;
        });
      },
    ],
  ];

  for (const [kind, start] of kinds) {
    it(`${kind}: reading stops beyond maxBufferedDeliveryBytes, and every message arrives`, async () => {
      const queue = await backlog();
      const channel = await connection.openChannel();
      const seen: Seen = { maxDeliveries: 0, paused: false, indexes: [] };
      await start(channel, queue, seen);
      await waitFor(() => seen.indexes.length >= COUNT, 25_000, `${COUNT} messages`);
      expectBounded(seen);
      await waitFor(
        () => !connection.buffered.readingPaused && connection.buffered.deliveries === 0,
      );
    });
  }

  it('heartbeats and other channels’ replies survive the pause', async () => {
    const slow = await connect(url, {
      maxBufferedDeliveryBytes: LIMIT,
      heartbeat: 1,
      recovery: false,
    });
    try {
      const queue = await backlog();
      const channel = await slow.openChannel();
      const other = await slow.openChannel();
      let release = (): void => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let received = 0;
      await channel.queue(queue).consume(
        async () => {
          received++;
          await held;
        },
        { noAck: true },
      );
      await waitFor(() => slow.buffered.readingPaused, 10_000, 'reading to pause');
      // A reply on another channel waits for the pause; four heartbeat intervals pass meanwhile.
      let declared = false;
      const declaring = other.declareQueue('', { exclusive: true }).then(() => {
        declared = true;
      });
      await sleep(4_500);
      expect(slow.isOpen).toBe(true);
      expect(declared).toBe(false);
      expect(received).toBe(1);
      release();
      await declaring;
      await waitFor(() => received === COUNT, 20_000, 'every message');
      expect(slow.isOpen).toBe(true);
      // The broker saw our heartbeats: it kept the connection.
      await other.declareQueue('', { exclusive: true });
    } finally {
      await slow.close();
    }
  });
});

describe('prefetch with noAck', () => {
  it('is refused with a TypeError before anything is sent', async () => {
    const queue = await backlog(1);
    const channel = await connection.openChannel();
    const refused = await channel
      .queue(queue)
      .consume(() => {}, { noAck: true, prefetch: 10 })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TypeError);
    expect(String(refused)).toMatch(/prefetch has no effect with noAck: true/);
    expect(await queueCounts(admin, queue)).toMatchObject({ consumerCount: 0, messageCount: 1 });
    expect(channel.isOpen).toBe(true);
    expect(channel.consumerQos).toBeUndefined();
  });

  it('serve() refuses noAck', async () => {
    const queue = await backlog(1);
    const channel = await connection.openChannel();
    const options = { noAck: true } as object;
    await expect(channel.queue(queue).serve(() => null, options)).rejects.toThrow(
      /serve has no option noAck/,
    );
    expect(await queueCounts(admin, queue)).toMatchObject({ consumerCount: 0 });
  });
});

describe('unawaited publishes are bounded', () => {
  it('beyond maxBufferedPublishBytes a publish rejects with PUBLISH_BUFFER_FULL and is not sent', async () => {
    const bound = 1024 * 1024;
    const publisher = await connect(url, { maxBufferedPublishBytes: bound, recovery: false });
    try {
      const name = uniqueName('memory-publish');
      deleteAfterTest(admin, 'queue', name);
      const channel = await publisher.openChannel();
      await channel.declareQueue(name, { durable: false });
      const exchange = channel.exchange('');
      // 80 MiB offered in one synchronous loop: far more than the kernel's socket buffers and
      // the broker's reading can take meanwhile (they took 10 MiB of 20 on a loaded machine).
      const count = 20_000;
      const body = Buffer.alloc(4 * BODY);
      let accepted = 0;
      let refused = 0;
      let maxWrites = 0;
      const sends: Promise<void>[] = [];
      for (let i = 0; i < count; i++) {
        sends.push(
          exchange.publish(body, name).then(
            () => {
              accepted++;
            },
            (error: unknown) => {
              expect(error).toBeInstanceOf(AmqpError);
              expect((error as AmqpError).code).toBe('PUBLISH_BUFFER_FULL');
              refused++;
            },
          ),
        );
        maxWrites = Math.max(maxWrites, publisher.buffered.writes);
      }
      await Promise.all(sends);
      // At most the bound (and the frame headers of one batch) was held; how many were refused
      // depends on how fast the kernel and the broker took the rest.
      expect(maxWrites).toBeLessThanOrEqual(bound + 64 * 1024);
      expect(refused).toBeGreaterThan(0);
      expect(accepted + refused).toBe(count);
      // The refused ones were never sent; the connection is fine.
      await waitFor(
        async () => (await queueCounts(admin, name))?.messageCount === accepted,
        10_000,
        `${accepted} messages in the queue`,
      );
      await exchange.publish(Buffer.from('after'), name);
      expect(publisher.isOpen).toBe(true);
    } finally {
      await publisher.close();
    }
  });
});
