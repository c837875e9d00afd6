/**
 * Bodies from empty to 50 MiB, warren to warren through the broker, around
 * the frame boundaries: a body of frame_max - 8 bytes fills one body frame
 * exactly (7 bytes of header, 1 end octet), one byte more needs a second.
 * Each is published on a confirm channel and must come back byte for byte,
 * from `queue.get()` and from a consumer.
 */
import { randomFillSync } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { type Connection, connect, type IncomingMessage, Message } from '../../lib/index.js';

const url = inject('amqpUrl');

const MiB = 1024 * 1024;

/** Body sizes by name; the frame boundaries depend on the negotiated frame_max. */
const SIZES: readonly [name: string, size: (frameMax: number) => number][] = [
  ['0 bytes', () => 0],
  ['1 byte', () => 1],
  ['frame_max - 8 bytes (one full body frame)', (frameMax) => frameMax - 8],
  ['frame_max - 7 bytes (one byte into a second frame)', (frameMax) => frameMax - 7],
  ['50 MiB', () => 50 * MiB],
];

const open: Connection[] = [];

afterEach(async () => {
  for (const connection of open.splice(0)) await connection.close();
});

async function openConnection(): Promise<Connection> {
  const connection = await connect(url);
  open.push(connection);
  return connection;
}

/** Compares bodies without printing megabytes when they differ. */
function expectSameBytes(actual: Buffer, expected: Buffer): void {
  expect(Buffer.isBuffer(actual)).toBe(true);
  expect(actual.length, 'body length').toBe(expected.length);
  if (!actual.equals(expected)) {
    const at = actual.findIndex((byte, i) => byte !== expected[i]);
    expect.fail(`the bodies differ first at byte ${at} of ${expected.length}`);
  }
}

describe.each(['get', 'consume'] as const)('received by %s', (mode) => {
  it.each(SIZES)('a body of %s arrives byte for byte', async (name, sizeOf) => {
    const connection = await openConnection();
    const { frameMax } = connection.tuning;
    // Guards the boundary cases: a frame_max of 0 ("no limit") would make them meaningless.
    expect(frameMax).toBeGreaterThanOrEqual(4096);
    expect(frameMax).toBeLessThan(0xffff_ffff);
    const body = randomFillSync(Buffer.allocUnsafe(sizeOf(frameMax)));

    const channel = await connection.openChannel({ confirm: true });
    const queue = await channel.declareQueue('', { exclusive: true });
    await channel.exchange('').publish(new Message(body, { messageId: name }), queue.name);

    let received: IncomingMessage;
    if (mode === 'get') {
      const message = await queue.get();
      if (message === null) throw new Error('the confirmed message is not in the queue');
      expect(message.messageCount).toBe(0);
      received = message;
    } else {
      received = await new Promise<IncomingMessage>((resolve, reject) => {
        queue.consume(resolve).catch(reject);
      });
    }

    expect(received.properties.messageId).toBe(name);
    expect(received.redelivered).toBe(false);
    expectSameBytes(received.body, body);
    received.ack();
  });
});

describe('large bodies read straight into place', () => {
  it('arrive byte for byte while confirms, other channels and heartbeats interleave', async () => {
    // warren reads the payload of a large body's frames straight into the body's buffer; frames
    // of other channels, confirms and heartbeats come between them on the same connection.
    const connection = await connect(url, { heartbeat: 1 });
    open.push(connection);
    const { frameMax } = connection.tuning;
    const sizes = [
      5 * MiB,
      MiB + 13,
      3 * frameMax,
      3 * frameMax + 1,
      200 * 1024 + 1,
      17 * 1024 - 3,
      2 * MiB - 1,
      frameMax - 8,
      4 * MiB + 7,
    ];
    const bodies = sizes.map((size) => randomFillSync(Buffer.allocUnsafe(size)));
    const consuming = await connection.openChannel();
    const queue = await consuming.declareQueue('', { exclusive: true });
    const received = new Map<string, Buffer>();
    const all = new Promise<void>((resolve, reject) => {
      queue
        .consume(
          (message) => {
            received.set(message.properties.messageId ?? '?', message.body);
            message.ack();
            if (received.size === bodies.length) resolve();
          },
          { prefetch: 3 },
        )
        .catch(reject);
    });
    // Small traffic on a third channel all along.
    const chatter = await connection.openChannel({ confirm: true });
    const side = await chatter.declareQueue('', { exclusive: true });
    let talking = true;
    const talk = (async () => {
      let n = 0;
      while (talking) {
        await chatter.exchange('').publish({ n: n++ }, side.name);
        await side.get().then((message) => message?.ack());
      }
      return n;
    })();
    const publishing = await connection.openChannel({ confirm: true });
    await Promise.all(
      bodies.map((body, i) =>
        publishing.exchange('').publish(new Message(body, { messageId: String(i) }), queue.name),
      ),
    );
    await all;
    talking = false;
    expect(await talk).toBeGreaterThan(0);
    for (const [i, body] of bodies.entries()) {
      const got = received.get(String(i));
      if (got === undefined) throw new Error(`message ${i} did not arrive`);
      expectSameBytes(got, body);
    }
  });
});
